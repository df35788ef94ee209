"""The whole lifecycle, driven only through the client generated from openapi/reetrace.json.

An admin creates a manufacturer, two recyclers and a regulator; the manufacturer registers one
item passport and a bulk of 1,000; the first recycler scans the item, collects it and hands it
over; the second accepts, sorts, dismantles it into a magnet lot and recycles that into an oxide
lot; the manufacturer registers a magnet with recycled Nd from the oxide; anyone verifies the
credentials through /credentials/verify. A surveyor records a bauxite residue deposit with its
assays and a coal ash landfill; anyone reads them without a key, and their credentials verify
with independent.py's eddsa-jcs-2022 check (and `reetrace verify --online` when REETRACE_BIN
names the binary). Every step asserts what came back.

Run by run.sh (which generates `reetrace_client` first) with REETRACE_URL and REETRACE_ADMIN_KEY
(and REETRACE_BIN, optionally).
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from http import HTTPStatus
from typing import Any

import independent
from reetrace_client import AuthenticatedClient, Client
from reetrace_client.api.accounts import add_gs_1_prefix, create_org, whoami
from reetrace_client.api.credentials import verify_credential
from reetrace_client.api.custody import (
    get_lot,
    record_custody_step,
    record_transformation,
    scan_product,
)
from reetrace_client.api.deposits import create_deposit, get_deposit, get_deposit_credential
from reetrace_client.api.log import get_checkpoint, get_inclusion_proof
from reetrace_client.api.stock import export_stock, get_stock_flows, get_stock_indicators
from reetrace_client.api.passports import (
    bulk_create_passports,
    create_passport,
    get_passport,
    get_passport_credential,
    list_passports,
)
from reetrace_client.models import (
    Action,
    AssayInput,
    Category,
    CheckpointView,
    Component,
    ConcentrationInput,
    Country,
    DepositInput,
    DepositStatus,
    DepositType,
    Deposition,
    Element,
    ElementAmount,
    ElementMass,
    EndOfLife,
    GeometryInputType0,
    GeometryInputType0Type,
    GeometryInputType1,
    GeometryInputType1Type,
    Granularity,
    InputSpec,
    Location,
    LocationInput,
    Method,
    NewGs1Prefix,
    NewOrg,
    OperatorIdType0,
    OperatorIdType0Scheme,
    OutputKind,
    OutputSpec,
    PassportStatus,
    PlacedOnMarket,
    Problem,
    Process,
    Product,
    RecycledContent,
    RecycledSource,
    ReeContent,
    Registration,
    Role,
    SourceElement,
    State,
    StepRequest,
    Tier,
    TonnageInput,
    TonnageMethod,
    TransformationRequest,
    UseType,
    VerifyRequest,
    VerifyRequestVerifiableCredential,
)
from reetrace_client.types import Response

BASE = os.environ["REETRACE_URL"].rstrip("/")
ADMIN_KEY = os.environ["REETRACE_ADMIN_KEY"]


def gtin(prefix: str, item: str) -> str:
    """The GTIN-14 (indicator 0) of item reference `item` under `prefix`, with its check digit."""
    body = f"0{prefix}{item}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return f"{body}{(10 - total % 10) % 10}"


# The GS1 Company Prefixes the admin gives the manufacturer and the recycler, drawn per run (a
# prefix belongs to one organisation, and the scenario may run again on one server, beside the
# TypeScript one): a GTIN is registered only under its owner's prefix.
MAKER_PREFIX = "40" + "".join(secrets.choice("0123456789") for _ in range(5))
RECYCLER_PREFIX = "41" + "".join(secrets.choice("0123456789") for _ in range(5))
MOTOR_GTIN = gtin(MAKER_PREFIX, "00001")
MAGNET_GTIN = gtin(MAKER_PREFIX, "00002")
OXIDE_GTIN = gtin(RECYCLER_PREFIX, "00003")
# Serials and lot numbers carry a run tag, so that the scenario may run again on the same server.
TAG = secrets.token_hex(3).upper()

passed = 0


def ok(what: str) -> None:
    global passed
    passed += 1
    print(f"python: ok   {what}")


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


def expect(response: Response[Any], status: int, what: str) -> Any:
    """The parsed body of `response`, which must have `status`."""
    if response.status_code != status:
        raise AssertionError(
            f"{what}: expected {status}, got {int(response.status_code)}: "
            f"{response.content.decode(errors='replace')[:2000]}"
        )
    check(response.parsed is not None, f"{what}: the body did not parse")
    return response.parsed


def client(key: str) -> AuthenticatedClient:
    return AuthenticatedClient(base_url=BASE, token=key, raise_on_unexpected_status=True)


def element_mass(amounts: list[ElementAmount], element: Element) -> float:
    return next((a.mass_g for a in amounts if a.element == element), 0.0)


def motor(serial: str) -> Registration:
    """The README's traction motor."""
    return Registration(
        granularity=Granularity.ITEM,
        product=Product(
            gtin=MOTOR_GTIN,
            serial=serial,
            name="Traction motor PMSM 150 kW",
            model="PM150",
            category=Category.EV_TRACTION_MOTOR,
            net_mass_g=48000,
            manufactured_on=datetime.date(2026, 3, 2),
            placed_on_market=PlacedOnMarket(date=datetime.date(2026, 4, 15), country=Country.FR),
            expected_lifetime_years=15,
        ),
        ree_content=ReeContent(
            components=[
                Component(
                    name="rotor magnet set",
                    material="NdFeB-sintered",
                    mass_g=1500,
                    location="rotor, 48 segments in V-slots",
                    elements=[
                        ElementMass(element=Element.ND, mass_g=337.5, method=Method.DECLARED),
                        ElementMass(element=Element.PR, mass_g=105),
                        ElementMass(element=Element.DY, mass_g=60),
                        ElementMass(element=Element.TB, mass_g=7.5),
                    ],
                    recycled_content=RecycledContent(pre_consumer=0.0, post_consumer=0.05),
                )
            ]
        ),
        end_of_life=EndOfLife(
            dismantling="remove rotor; magnets glued, heat to 350 C to release",
            use_type=UseType.CONCENTRATED,
        ),
    )


def magnet(serial: str, oxide_lot: str, nd_g: float) -> Registration:
    """A magnet set claiming `nd_g` of recycled Nd from `oxide_lot`."""
    return Registration(
        granularity=Granularity.ITEM,
        product=Product(
            gtin=MAGNET_GTIN,
            serial=serial,
            name="Sintered NdFeB magnet set",
            category=Category.NDFEB_MAGNET,
            net_mass_g=1500,
            placed_on_market=PlacedOnMarket(date=datetime.date(2042, 1, 10), country=Country.DE),
        ),
        ree_content=ReeContent(
            components=[
                Component(
                    name="magnet set",
                    material="NdFeB-sintered",
                    mass_g=1500,
                    elements=[
                        ElementMass(element=Element.ND, mass_g=330),
                        ElementMass(element=Element.PR, mass_g=100),
                    ],
                    recycled_content=RecycledContent(
                        post_consumer=0.6,
                        sources=[
                            RecycledSource(
                                lot=oxide_lot,
                                elements=[SourceElement(element=Element.ND, mass_g=nd_g)],
                            )
                        ],
                    ),
                )
            ]
        ),
    )


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


def step(key: str, passport_id: Any, request: StepRequest, state: State, what: str) -> Any:
    recorded = expect(
        record_custody_step.sync_detailed(passport_id, client=client(key), body=request),
        HTTPStatus.CREATED,
        what,
    )
    check(recorded.custody.state == state, f"{what}: state {recorded.custody.state}, want {state}")
    check(recorded.event_id.startswith("ni:///sha-256;"), f"{what}: event id {recorded.event_id}")
    ok(f"{what} -> {state.value}")
    return recorded


def verify(credential: dict[str, Any], what: str) -> None:
    """Anyone (no key) verifies `credential` through /credentials/verify."""
    anyone = Client(base_url=BASE)
    body = VerifyRequest(
        verifiable_credential=VerifyRequestVerifiableCredential.from_dict(credential)
    )
    result = expect(verify_credential.sync_detailed(client=anyone, body=body), HTTPStatus.OK, what)
    check(result.verified, f"{what}: not verified: {result.errors}")
    check(
        {"proof", "issuer", "validity", "status"} <= set(result.checks),
        f"{what}: checks {result.checks}",
    )
    check(result.errors == [], f"{what}: errors {result.errors}")
    ok(f"{what}: verified ({', '.join(result.checks)})")


def red_mud() -> DepositInput:
    """The README's bauxite residue pond, with two assays (a closed polygon given clockwise)."""
    return DepositInput(
        name=f"Residue pond 10 (python {TAG})",
        type_=DepositType.BAUXITE_RESIDUE,
        status=DepositStatus.CLOSED,
        location=LocationInput(
            geometry=GeometryInputType1(
                type_=GeometryInputType1Type.POLYGON,
                coordinates=[[[17.47, 47.08], [17.47, 47.09], [17.49, 47.09], [17.49, 47.08], [17.47, 47.08]]],
            ),
            country="HU",
            nuts="HU213",
        ),
        tonnage=TonnageInput(tonnes=30_000_000, uncertainty_tonnes=3_000_000, method=TonnageMethod.SURVEY),
        deposition=Deposition(from_=1964, to=2010),
        assays=[
            AssayInput(
                sampled_on=datetime.date(2024, 5, 2),
                method="ICP-MS",
                laboratory="Survey laboratory",
                sample_count=20,
                concentrations=[
                    ConcentrationInput(element="Sc", ppm=110, uncertainty_ppm=8),
                    ConcentrationInput(element="Nd", ppm=95, uncertainty_ppm=6),
                ],
            ),
            AssayInput(
                sampled_on=datetime.date(2025, 3, 10),
                method="XRF",
                laboratory="University laboratory",
                sample_count=5,
                concentrations=[ConcentrationInput(element="Nd", ppm=120, uncertainty_ppm=10)],
            ),
        ],
        illustrative=True,
    )


def ash_landfill() -> DepositInput:
    """An active coal fly ash landfill, a point, with one assay."""
    return DepositInput(
        name=f"Ash landfill (python {TAG})",
        type_=DepositType.FLY_ASH,
        status=DepositStatus.ACTIVE,
        location=LocationInput(
            geometry=GeometryInputType0(type_=GeometryInputType0Type.POINT, coordinates=[25.91, 42.15]),
            country="BG",
            nuts="BG344",
        ),
        tonnage=TonnageInput(
            tonnes=5_000_000, uncertainty_tonnes=500_000, method=TonnageMethod.PRODUCTION_MODEL
        ),
        deposition=Deposition(from_=1985),
        assays=[
            AssayInput(
                sampled_on=datetime.date(2023, 10, 1),
                method="ICP-MS",
                laboratory="Survey laboratory",
                sample_count=12,
                concentrations=[
                    ConcentrationInput(element="Ce", ppm=130.5, uncertainty_ppm=9),
                    ConcentrationInput(element="Y", ppm=51, uncertainty_ppm=4),
                ],
            )
        ],
        illustrative=True,
    )


def reetrace_verify(credential: dict[str, Any], what: str) -> None:
    """`reetrace verify FILE --online BASE`, when REETRACE_BIN names the binary."""
    binary = os.environ.get("REETRACE_BIN")
    if not binary:
        return
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        json.dump(credential, file)
        file.flush()
        out = subprocess.run(
            [binary, "verify", file.name, "--online", BASE], capture_output=True, text=True
        )
    report = json.loads(out.stdout or "{}")
    check(out.returncode == 0 and report.get("verified"), f"{what}: {out.stdout} {out.stderr}")
    check(report["checks"] == ["proof", "issuer", "validity", "status"], f"{what}: {report}")
    ok(f"reetrace verify --online: {what} verified ({', '.join(report['checks'])})")


def deposits(new_org: Any, anyone: Client) -> None:
    """10. A surveyor records a bauxite residue deposit and a coal ash landfill; both are open
    data, and their credentials verify through the VC-API, with independent.py and with
    `reetrace verify`."""
    surveyor = new_org("Geological Survey (python)", Role.SURVEYOR)
    mud = expect(
        create_deposit.sync_detailed(
            client=client(surveyor.api_key), body=red_mud(), idempotency_key=f"py-{TAG}-mud"
        ),
        HTTPStatus.CREATED,
        "record the bauxite residue deposit",
    )
    ash = expect(
        create_deposit.sync_detailed(client=client(surveyor.api_key), body=ash_landfill()),
        HTTPStatus.CREATED,
        "record the coal ash landfill",
    )
    check(mud.version == 1 and mud.illustrative and mud.org_id == surveyor.org_id, f"{mud}")
    ok(f"the surveyor recorded deposits {mud.id} (bauxite residue) and {ash.id} (fly ash)")
    read = expect(get_deposit.sync_detailed(mud.id, client=anyone), HTTPStatus.OK, "read the pond")
    nd = next(c for c in read.content if c.element == "Nd")
    # (20 × 95 + 5 × 120) / 25 = 100 ppm; 30 Mt × 100 g/t = 3,000 t.
    check(nd.samples == 25 and nd.concentration_ppm == 100, f"Nd {nd}")
    check(nd.content_kg == 3_000_000 and nd.exact, f"Nd {nd}")
    ring = read.location.geometry.to_dict()["coordinates"][0]
    check(ring[1] == [17.49, 47.08], f"the outline is counterclockwise: {ring}")
    ok("anyone reads the pond without a key: 100 ppm Nd over 25 samples, 3,000 t of Nd")
    for made, what in [(mud, "the bauxite residue deposit's credential"), (ash, "the landfill's")]:
        credential = expect(
            get_deposit_credential.sync_detailed(made.id, client=anyone),
            HTTPStatus.OK,
            f"fetch {what}",
        ).to_dict()
        check(credential["type"] == ["VerifiableCredential", "ResidueDepositCredential"], f"{what}")
        check(credential["issuer"].endswith(str(surveyor.org_id)), f"{what}: {credential['issuer']}")
        check(credential["credentialSubject"]["illustrative"] is True, f"{what}")
        verify(credential, what)
        independent.verify_data_integrity(credential)
        ok(f"rfc8785 + cryptography verify {what} (eddsa-jcs-2022)")
        reetrace_verify(credential, what)
        tampered = json.loads(json.dumps(credential))
        tampered["credentialSubject"]["tonnage"]["tonnes"] *= 10
        try:
            independent.verify_data_integrity(tampered)
        except Exception:  # noqa: BLE001 - cryptography's InvalidSignature
            ok(f"{what} with ten times the tonnage does not verify independently")
        else:
            raise AssertionError(f"{what}: a tampered tonnage verified")


def main() -> int:
    admin = client(ADMIN_KEY)
    me = expect(whoami.sync_detailed(client=admin), HTTPStatus.OK, "whoami")
    check(me.role == Role.ADMIN, f"the bootstrap key is {me.role}, not admin")
    ok("the admin key is an admin's")

    # 1. The admin creates the organisations, and gives the manufacturer and the recycler
    #    their GS1 Company Prefixes.
    def new_org(
        name: str,
        role: Role,
        operator: OperatorIdType0 | None = None,
        prefix: str | None = None,
    ) -> Any:
        body = NewOrg(name=name, role=role)
        if operator is not None:
            body.operator_id = operator
        created = expect(
            create_org.sync_detailed(client=admin, body=body), HTTPStatus.CREATED, f"create {name}"
        )
        check(created.role == role and created.name == name, f"{name}: {created}")
        check(created.api_key.startswith("rtk_"), f"{name}: key {created.api_key[:6]}...")
        ok(f"admin created {role.value} {name!r}")
        if prefix is not None:
            held = expect(
                add_gs_1_prefix.sync_detailed(
                    org_id=str(created.org_id), client=admin, body=NewGs1Prefix(prefix=prefix)
                ),
                HTTPStatus.CREATED,
                f"GS1 prefix of {name}",
            )
            check(held.prefix == prefix, f"{name}: prefix {held.prefix}")
            ok(f"admin gave {name!r} the GS1 Company Prefix {prefix}")
        return created

    eori = "FR" + "".join(secrets.choice("0123456789") for _ in range(12))
    maker = new_org(
        "Acme Motors (python)",
        Role.MANUFACTURER,
        OperatorIdType0(value=eori, scheme=OperatorIdType0Scheme.EORI),
        MAKER_PREFIX,
    )
    collector = new_org("Collecte Lyon (python)", Role.RECYCLER)
    recycler = new_org("Urban Mine Recycling (python)", Role.RECYCLER, prefix=RECYCLER_PREFIX)
    regulator = new_org("Agence de l'environnement (python)", Role.REGULATOR)

    # 2. The manufacturer registers one item passport and a bulk of 1,000.
    serial = f"PY{TAG}-000001"
    issued = expect(
        create_passport.sync_detailed(
            client=client(maker.api_key), body=motor(serial), idempotency_key=f"py-{TAG}-motor"
        ),
        HTTPStatus.CREATED,
        "register the motor",
    )
    check(issued.version == 1 and issued.status == PassportStatus.ACTIVE, f"motor: {issued}")
    check(
        issued.uri == f"{BASE}/01/{MOTOR_GTIN}/21/{serial}",
        f"motor resolver URL {issued.uri}",
    )
    proof = issued.credential.additional_properties["proof"]
    check(proof["cryptosuite"] == "eddsa-jcs-2022", f"motor proof {proof}")
    ok(f"manufacturer registered the motor {issued.id} at {issued.uri}")
    motor_id = issued.id

    again = expect(
        create_passport.sync_detailed(
            client=client(maker.api_key), body=motor(serial), idempotency_key=f"py-{TAG}-motor"
        ),
        HTTPStatus.CREATED,
        "retry the registration with the same Idempotency-Key",
    )
    check(again.id == motor_id, "an idempotent retry answers the first passport")
    ok("an idempotent retry answers the same passport")

    lines = [motor(f"PY{TAG}-B{i:04d}") for i in range(1000)]
    started = time.monotonic()
    outcome = expect(
        bulk_create_passports.sync_detailed(client=client(maker.api_key), body=lines),
        HTTPStatus.OK,
        "bulk registration",
    )
    check(outcome.created == 1000 and outcome.failed == 0, f"bulk: {outcome.created} created")
    check(len(outcome.results) == 1000, f"bulk: {len(outcome.results)} results")
    check(all(r.status == 201 and r.id for r in outcome.results), "every bulk line is 201")
    check(sorted(r.line for r in outcome.results) == list(range(1, 1001)), "one result per line")
    ok(f"manufacturer registered a bulk of 1,000 in {time.monotonic() - started:.1f} s")

    # The regulator pages through the GTIN's passports (oldest first) until it meets the bulk.
    seen: set[Any] = set()
    cursor: Any = None
    pages = 0
    while True:
        kwargs = {"cursor": cursor} if cursor else {}
        page = expect(
            list_passports.sync_detailed(
                client=client(regulator.api_key), gtin=MOTOR_GTIN, limit=500, **kwargs
            ),
            HTTPStatus.OK,
            "the regulator lists the motors",
        )
        pages += 1
        seen.update(p.id for p in page.items)
        cursor = page.next_cursor
        if not cursor or {r.id for r in outcome.results} <= seen:
            break
    check(motor_id in seen, "the regulator sees the motor")
    check({r.id for r in outcome.results} <= seen, "the regulator sees the whole bulk")
    ok(f"the regulator pages through the GTIN's passports ({len(seen)} in {pages} pages)")

    # 3. Custody: scan, collect, hand over, accept, sort.
    scan = expect(
        scan_product.sync_detailed(motor_id, client=client(collector.api_key)),
        HTTPStatus.OK,
        "the collector scans the motor",
    )
    check(scan.custody.state == State.IN_USE, f"scan: {scan.custody.state}")
    check(scan.next_.actions == [Action.COLLECT], f"scan: next {scan.next_.actions}")
    check(
        scan.product.epc == f"https://id.gs1.org/01/{MOTOR_GTIN}/21/{serial}",
        f"scan: epc {scan.product.epc}",
    )
    ok("the collector scans the motor: in use, may collect")

    refused = get_passport.sync_detailed(motor_id, client=client(collector.api_key))
    view = expect(refused, HTTPStatus.OK, "the collector reads the passport")
    check(view.tier == Tier.PROFESSIONAL, f"a recycler reads the {view.tier} tier")
    ok("the collector reads the passport in the professional tier")

    step(
        collector.api_key,
        motor_id,
        StepRequest(
            action=Action.COLLECT,
            at=at("2026-09-02T09:30:00+02:00"),
            location=Location(id="urn:epc:id:sgln:4012345.00001.0", country=Country.FR),
            measured_mass_g=48100,
        ),
        State.COLLECTED,
        "collect",
    )
    not_holder = record_custody_step.sync_detailed(
        motor_id,
        client=client(recycler.api_key),
        body=StepRequest(action=Action.SORT, at=at("2026-09-03T09:00:00Z")),
    )
    problem = expect(not_holder, HTTPStatus.CONFLICT, "a non-holder's step")
    check(isinstance(problem, Problem) and problem.code == "step_not_allowed", f"{problem}")
    ok("a step by a non-holder is refused: 409 step_not_allowed")
    handed = step(
        collector.api_key,
        motor_id,
        StepRequest(action=Action.HANDOVER, at=at("2026-09-03T10:00:00Z"), to_org=recycler.org_id),
        State.COLLECTED,
        "hand over to the second recycler",
    )
    check(handed.custody.pending_to == recycler.org_id, f"pending {handed.custody.pending_to}")
    check(handed.custody.holder == collector.org_id, f"holder {handed.custody.holder}")
    step(
        recycler.api_key,
        motor_id,
        StepRequest(action=Action.ACCEPT, at=at("2026-09-04T08:00:00Z")),
        State.RECEIVED,
        "accept",
    )
    scan = expect(
        scan_product.sync_detailed(motor_id, client=client(recycler.api_key)),
        HTTPStatus.OK,
        "scan after the handover",
    )
    check(scan.custody.holder == recycler.org_id, f"holder after accept {scan.custody.holder}")
    ok("the second recycler holds the motor")
    step(
        recycler.api_key,
        motor_id,
        StepRequest(action=Action.SORT, at=at("2026-09-05T08:00:00Z")),
        State.SORTED,
        "sort",
    )

    # 4. Dismantling into a magnet lot, recycling into an oxide lot.
    dismantled = expect(
        record_transformation.sync_detailed(
            client=client(recycler.api_key),
            body=TransformationRequest(
                process=Process.DISMANTLING,
                at=at("2026-10-02T10:00:00Z"),
                inputs=[InputSpec(passport=motor_id)],
                outputs=[
                    OutputSpec(
                        kind=OutputKind.LOT,
                        material="NdFeB-sintered",
                        mass_g=1480,
                        elements=[
                            ElementAmount(element=Element.ND, mass_g=330),
                            ElementAmount(element=Element.PR, mass_g=100),
                            ElementAmount(element=Element.DY, mass_g=58),
                            ElementAmount(element=Element.TB, mass_g=7),
                        ],
                    )
                ],
            ),
        ),
        HTTPStatus.CREATED,
        "dismantle",
    )
    check(element_mass(dismantled.losses, Element.ND) == 7.5, f"Nd loss {dismantled.losses}")
    check(element_mass(dismantled.losses, Element.TB) == 0.5, f"Tb loss {dismantled.losses}")
    magnet_lot = dismantled.lots[0].lot_id
    ok(f"dismantled into magnet lot {magnet_lot} (7.5 g Nd lost)")
    scan = expect(
        scan_product.sync_detailed(motor_id, client=client(recycler.api_key)),
        HTTPStatus.OK,
        "scan after dismantling",
    )
    check(scan.custody.state == State.DISMANTLED, f"after dismantling: {scan.custody.state}")
    check(len(scan.events) == 5, f"collect, handover, accept, sort, dismantling: {scan.events}")
    ok("the motor is dismantled, with its five events")

    oxide_lot_number = f"OX{TAG}"
    recycled = expect(
        record_transformation.sync_detailed(
            client=client(recycler.api_key),
            idempotency_key=f"py-{TAG}-recycle",
            body=TransformationRequest(
                process=Process.RECYCLING,
                at=at("2026-11-01T10:00:00Z"),
                inputs=[InputSpec(lot=magnet_lot, mass_g=1480)],
                outputs=[
                    OutputSpec(
                        kind=OutputKind.OXIDE,
                        material="NdPr oxide",
                        mass_g=500,
                        gtin=OXIDE_GTIN,
                        lot_number=oxide_lot_number,
                        elements=[
                            ElementAmount(element=Element.ND, mass_g=300),
                            ElementAmount(element=Element.PR, mass_g=90),
                            ElementAmount(element=Element.DY, mass_g=50),
                            ElementAmount(element=Element.TB, mass_g=6),
                        ],
                    )
                ],
            ),
        ),
        HTTPStatus.CREATED,
        "recycle",
    )
    oxide = recycled.lots[0]
    check(
        oxide.epc == f"https://id.gs1.org/01/{OXIDE_GTIN}/10/{oxide_lot_number}",
        f"oxide epc {oxide.epc}",
    )
    check(element_mass(recycled.losses, Element.ND) == 30, f"Nd loss {recycled.losses}")
    ok(f"recycled into oxide lot {oxide.lot_id} ({oxide.epc})")
    used = expect(
        get_lot.sync_detailed(magnet_lot, client=client(recycler.api_key)),
        HTTPStatus.OK,
        "read the magnet lot",
    )
    check(used.state == "consumed" and used.remaining_g == 0, f"magnet lot {used.state}")
    ok("the magnet lot is consumed")

    # 5. Closing the loop: a magnet passport claims recycled Nd from the oxide.
    claimed = expect(
        create_passport.sync_detailed(
            client=client(maker.api_key), body=magnet(f"PYM{TAG}", str(oxide.lot_id), 150)
        ),
        HTTPStatus.CREATED,
        "register the magnet with recycled content",
    )
    ok(f"manufacturer registered magnet {claimed.id} with 150 g recycled Nd")
    lot = expect(
        get_lot.sync_detailed(oxide.lot_id, client=client(maker.api_key)),
        HTTPStatus.OK,
        "read the oxide lot",
    )
    check(element_mass(lot.claimed, Element.ND) == 150, f"claimed {lot.claimed}")
    check(element_mass(lot.claimable, Element.ND) == 150, f"claimable {lot.claimable}")
    check(lot.claims[0].passport_id == claimed.id, f"claims {lot.claims}")
    ok("the oxide lot shows the claim: 150 g Nd claimed, 150 g left")
    over = create_passport.sync_detailed(
        client=client(maker.api_key), body=magnet(f"PYN{TAG}", str(oxide.lot_id), 151)
    )
    problem = expect(over, HTTPStatus.CONFLICT, "an over-claim")
    check(problem.code == "over_claim", f"over-claim: {problem.code}")
    ok("an over-claim is refused: 409 over_claim")

    # 6. The log: the collect event gets into a signed checkpoint (published within ~1 s);
    # until then its inclusion proof is 409 (newer than the checkpoint) or 404 (no checkpoint).
    anyone = Client(base_url=BASE)
    events = expect(
        scan_product.sync_detailed(motor_id, client=client(regulator.api_key)),
        HTTPStatus.OK,
        "the regulator scans the motor",
    ).events
    collect_event = events[0].event_id
    deadline = time.monotonic() + 10
    while True:
        answer = get_inclusion_proof.sync_detailed(client=anyone, event_id=collect_event)
        if answer.status_code == HTTPStatus.OK:
            break
        check(
            answer.status_code in (HTTPStatus.CONFLICT, HTTPStatus.NOT_FOUND)
            and time.monotonic() < deadline,
            f"inclusion proof: {int(answer.status_code)} {answer.content!r}",
        )
        time.sleep(0.3)
    proof = expect(answer, HTTPStatus.OK, "inclusion proof of the collect event")
    check(0 <= proof.leaf_index < proof.tree_size, f"{proof}")
    checkpoint = expect(get_checkpoint.sync_detailed(client=anyone), HTTPStatus.OK, "checkpoint")
    check(isinstance(checkpoint, CheckpointView), f"checkpoint {checkpoint}")
    check(checkpoint.tree_size >= proof.tree_size, f"checkpoint {checkpoint.tree_size}")
    ok(f"the collect event is leaf {proof.leaf_index} of a {proof.tree_size}-leaf checkpoint")

    # 7. [stock] Flows, indicators and the tidy export, as each party may see them. The stock
    # service projects the passport and custody feeds asynchronously: wait until the recycled Nd
    # reaches the recycler's own flows, then read exact figures (in kg) in each party's scope.
    nd_2026 = {"element": Element.ND, "year_from": 2026, "year_to": 2026, "group_by": "year"}

    def flows(key: str, what: str, **query: Any) -> dict[str, Any]:
        answer = expect(
            get_stock_flows.sync_detailed(client=client(key), **nd_2026, **query),
            HTTPStatus.OK,
            what,
        )
        return {row.flow.value: row for row in answer.rows}

    deadline = time.monotonic() + 20
    while True:
        own = flows(recycler.api_key, "the recycler reads its own flows")
        if "recycled" in own or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    expected = {
        "sorted": 0.3375,
        "dismantled": 0.3375,
        "recycling_input": 0.33,
        "recycled": 0.3,
        "losses": 0.0075 + 0.03,
    }
    for flow, kg in expected.items():
        check(flow in own, f"the recycler's {flow} Nd is missing: {sorted(own)}")
        check(abs(own[flow].value - kg) < 1e-9, f"recycler {flow}: {own[flow].value} kg, not {kg}")
    ok("the recycler's own 2026 Nd flows: sorted 0.3375, recycled 0.3, losses 0.0375 kg")
    collected = flows(collector.api_key, "the collector reads its own flows")
    check(abs(collected["collected"].value - 0.3375) < 1e-9, f"collected: {collected}")
    ok("the collector's own 2026 Nd flows: collected 0.3375 kg")

    # The manufacturer sees its own products: 1,001 motors of 337.5 g Nd placed on the market in
    # France, one of them collected and its Nd recycled.
    placed = 1001 * 0.3375
    motors = {"country": Country.FR, "category": Category.EV_TRACTION_MOTOR}
    # The stock service projects the passport feed on its own: wait until the bulk is in.
    deadline = time.monotonic() + 20
    while True:
        mine = flows(maker.api_key, "the manufacturer reads its products' flows", **motors)
        settled = "placed_on_market" in mine and abs(mine["placed_on_market"].value - placed) < 1e-6
        if settled or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    check(abs(mine["placed_on_market"].value - placed) < 1e-6, f"placed: {mine}")
    indicators = expect(
        get_stock_indicators.sync_detailed(
            client=client(maker.api_key),
            element=Element.ND,
            year_from=2026,
            year_to=2026,
            **motors,
        ),
        HTTPStatus.OK,
        "the manufacturer reads the indicators",
    )
    check(len(indicators.rows) == 1, f"one year of indicators: {indicators.rows}")
    year = indicators.rows[0]
    check(abs(year.placed_on_market.value - placed) < 1e-6, f"indicators: {year}")
    # An organisation's own scope holds what it recorded: the collection and the recycling of
    # its motors were recorded by the recyclers.
    check(year.collected.value == 0 and year.recycled.value == 0, f"indicators: {year}")
    check(
        isinstance(year.stock_in_use.value, float) and 0 < year.stock_in_use.value <= placed,
        f"modelled stock in use: {year.stock_in_use}",
    )
    check(
        any(d.name == "collection_rate" for d in indicators.definitions),
        f"definitions: {[d.name for d in indicators.definitions]}",
    )
    ok(
        f"the manufacturer's indicators 2026: placed {placed:.4f} kg, "
        f"modelled stock in use {year.stock_in_use.value:.4f} kg"
    )
    csv = export_stock.sync_detailed(
        client=client(maker.api_key), element=Element.ND, year_from=2026, year_to=2026, **motors
    )
    check(csv.status_code == HTTPStatus.OK, f"CSV export: {int(csv.status_code)}")
    lines = csv.content.decode().splitlines()
    check(
        lines[0]
        == "year,country,category,element,flow,basis,value,unit,parameters_version,coarser_group_by",
        f"CSV header {lines[0]}",
    )
    placed_line = [
        x for x in lines if x.startswith("2026,FR,ev_traction_motor,Nd,placed_on_market,observed,")
    ]
    check(len(placed_line) == 1, f"CSV: {lines[:5]}")
    check(abs(float(placed_line[0].split(",")[6]) - placed) < 1e-6, f"CSV: {placed_line}")
    ok(f"the CSV export has {len(lines) - 1} rows, placed on the market {placed:.4f} kg")

    # Anyone reads the published statistics without a key, under disclosure control: a cell
    # made of fewer than k organisations is withheld (suppressed, no value), never shown as zero.
    seen = expect(
        get_stock_flows.sync_detailed(client=anyone, **nd_2026, **motors),
        HTTPStatus.OK,
        "anyone reads the published flows",
    )
    check(seen.scope.value == "published", f"scope {seen.scope}")
    check(bool(seen.disclosure) and seen.disclosure.k >= 2, f"disclosure {seen.disclosure}")
    withheld = [row for row in seen.rows if row.suppressed]
    # The count covers the totals too.
    check(seen.disclosure.suppressed >= len(withheld), f"{seen.disclosure} vs {len(withheld)}")
    for row in seen.rows:
        if row.suppressed:
            check(not isinstance(row.value, float), f"a withheld cell with a value: {row}")
        else:
            check(row.value >= mine.get(row.flow.value, row).value - 1e-9, f"{row}")
    ok(
        f"anyone reads {len(seen.rows)} published flows, {len(withheld)} withheld "
        f"(k={seen.disclosure.k})"
    )
    # The regulator, an authority, reads every figure exactly (its reads are audited).
    exact = expect(
        get_stock_flows.sync_detailed(client=client(regulator.api_key), **nd_2026, **motors),
        HTTPStatus.OK,
        "the regulator reads the flows",
    )
    check(exact.scope.value == "all" and not exact.disclosure, f"{exact.scope} {exact.disclosure}")
    for row in exact.rows:
        check(not row.suppressed, f"withheld from an authority: {row}")
        check(row.value >= mine.get(row.flow.value, row).value - 1e-9, f"{row}")
    regulator_placed = {row.flow.value: row for row in exact.rows}["placed_on_market"]
    ok(
        f"the regulator reads {len(exact.rows)} flows exactly; placed on the market: "
        f"{regulator_placed.value} kg"
    )

    # 8. Anyone verifies the credentials.
    for passport_id, what in [(motor_id, "the motor's credential"), (claimed.id, "the magnet's")]:
        credential = expect(
            get_passport_credential.sync_detailed(passport_id, client=anyone),
            HTTPStatus.OK,
            f"fetch {what}",
        )
        verify(credential.to_dict(), what)
    tampered = expect(
        get_passport_credential.sync_detailed(motor_id, client=anyone),
        HTTPStatus.OK,
        "fetch the motor's credential",
    ).to_dict()
    tampered["credentialSubject"]["product"]["name"] = "Something else"
    result = expect(
        verify_credential.sync_detailed(
            client=anyone,
            body=VerifyRequest(
                verifiable_credential=VerifyRequestVerifiableCredential.from_dict(tampered)
            ),
        ),
        HTTPStatus.BAD_REQUEST,
        "verify a tampered credential",
    )
    check(not result.verified, "a tampered credential does not verify")
    check(any(e.check == "proof" for e in result.errors), f"errors {result.errors}")
    ok("a tampered credential is refused: 400, the proof check fails")

    # 9. Libraries nobody here wrote verify the motor's v2 credential: its eddsa-jcs-2022 proof
    # (rfc8785 + cryptography) and its JOSE form (joserfc), each with the key of the issuer's
    # did:web document.
    motor_credential = expect(
        get_passport_credential.sync_detailed(motor_id, client=anyone),
        HTTPStatus.OK,
        "fetch the motor's credential",
    ).to_dict()
    check(
        "https://test.uncefact.org/vocabulary/untp/dpp/working/" in motor_credential["@context"],
        "the motor's credential is a UNTP passport",
    )
    independent.verify_data_integrity(motor_credential)
    ok("rfc8785 + cryptography verify the motor's eddsa-jcs-2022 proof")
    token = anyone.get_httpx_client().get(
        f"/api/v1/passports/{motor_id}/credential", headers={"accept": "application/vc+jwt"}
    )
    check(token.status_code == 200, f"the JOSE form: {token.status_code} {token.text[:200]}")
    check(
        token.headers["content-type"] == "application/vc+jwt", token.headers["content-type"]
    )
    independent.verify_jwt(token.text, motor_credential)
    ok("joserfc verifies the motor's vc+jwt, whose payload is the credential without its proof")
    verify(
        {
            "@context": "https://www.w3.org/ns/credentials/v2",
            "type": "EnvelopedVerifiableCredential",
            "id": f"data:application/vc+jwt,{token.text}",
        },
        "the motor's JOSE form",
    )

    # 10. Residue deposits: the second secondary resource, beside the urban mine.
    deposits(new_org, anyone)

    print(f"python: {passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as failure:
        print(f"python: FAIL {failure}", file=sys.stderr)
        print(f"python: {passed} passed, 1 failed")
        sys.exit(1)
