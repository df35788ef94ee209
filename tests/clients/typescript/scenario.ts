// The whole lifecycle, driven only through the client generated from openapi/reetrace.json
// (types by openapi-typescript, calls by openapi-fetch): an admin creates a manufacturer, two
// recyclers and a regulator; the manufacturer registers one item passport and a bulk of 1,000;
// the first recycler scans the item, collects it and hands it over; the second accepts, sorts,
// dismantles it into a magnet lot and recycles that into an oxide lot; the manufacturer
// registers a magnet with recycled Nd from the oxide; anyone verifies the credentials through
// /credentials/verify. Every step asserts what came back.
//
// Run by run.sh (which generates generated/reetrace.d.ts and compiles this file first) with
// REETRACE_URL and REETRACE_ADMIN_KEY.

import { randomBytes, randomInt } from "node:crypto";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/reetrace.js";

type Schemas = components["schemas"];
type Registration = Schemas["Registration"];
type StepRequest = Schemas["StepRequest"];
type ElementAmount = Schemas["ElementAmount"];
type Element = Schemas["Element"];

const BASE = required("REETRACE_URL").replace(/\/$/, "");
const ADMIN_KEY = required("REETRACE_ADMIN_KEY");
/** The GTIN-14 (indicator 0) of item reference `item` under `prefix`, with its check digit. */
function gtin(prefix: string, item: string): string {
  const body = `0${prefix}${item}`;
  const total = [...body].reverse().reduce((sum, d, i) => sum + Number(d) * (i % 2 === 0 ? 3 : 1), 0);
  return `${body}${(10 - (total % 10)) % 10}`;
}
// The GS1 Company Prefixes the admin gives the manufacturer and the recycler, drawn per run (a
// prefix belongs to one organisation, and the scenario may run again on one server, beside the
// Python one): a GTIN is registered only under its owner's prefix.
const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join("");
const MAKER_PREFIX = `40${digits(5)}`;
const RECYCLER_PREFIX = `41${digits(5)}`;
const MOTOR_GTIN = gtin(MAKER_PREFIX, "00001");
const MAGNET_GTIN = gtin(MAKER_PREFIX, "00002");
const OXIDE_GTIN = gtin(RECYCLER_PREFIX, "00003");
// Serials and lot numbers carry a run tag, so that the scenario may run again on one server.
const TAG = randomBytes(3).toString("hex").toUpperCase();

let passed = 0;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
}

function ok(what: string): void {
  passed += 1;
  console.log(`typescript: ok   ${what}`);
}

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(what);
}

/** The body of an answer that must have `status`. */
function expect<T>(
  answer: { data?: T; error?: unknown; response: Response },
  status: number,
  what: string,
): T {
  const got = answer.response.status;
  if (got !== status) {
    throw new Error(`${what}: expected ${status}, got ${got}: ${JSON.stringify(answer.error ?? answer.data)}`);
  }
  check(answer.data !== undefined, `${what}: no body`);
  return answer.data;
}

/** The problem of an answer that must fail with `status` and `code`. */
function refused(
  answer: { data?: unknown; error?: unknown; response: Response },
  status: number,
  code: string,
  what: string,
): Schemas["Problem"] {
  const got = answer.response.status;
  check(got === status, `${what}: expected ${status}, got ${got}: ${JSON.stringify(answer.data ?? answer.error)}`);
  const problem = answer.error as Schemas["Problem"];
  check(problem.code === code, `${what}: code ${problem.code}, want ${code}`);
  check(
    answer.response.headers.get("content-type")?.startsWith("application/problem+json"),
    `${what}: not problem+json`,
  );
  return problem;
}

function client(key?: string) {
  return createClient<paths>({
    baseUrl: BASE,
    headers: key ? { Authorization: `Bearer ${key}` } : {},
  });
}

function massOf(amounts: ElementAmount[], element: Element): number {
  return amounts.find((a) => a.element === element)?.mass_g ?? 0;
}

/** The README's traction motor. */
function motor(serial: string): Registration {
  return {
    granularity: "item",
    product: {
      gtin: MOTOR_GTIN,
      serial,
      name: "Traction motor PMSM 150 kW",
      model: "PM150",
      category: "ev_traction_motor",
      net_mass_g: 48000,
      manufactured_on: "2026-03-02",
      placed_on_market: { date: "2026-04-15", country: "FR" },
      expected_lifetime_years: 15,
    },
    ree_content: {
      components: [
        {
          name: "rotor magnet set",
          material: "NdFeB-sintered",
          mass_g: 1500,
          location: "rotor, 48 segments in V-slots",
          elements: [
            { element: "Nd", mass_g: 337.5, method: "declared" },
            { element: "Pr", mass_g: 105 },
            { element: "Dy", mass_g: 60 },
            { element: "Tb", mass_g: 7.5 },
          ],
          recycled_content: { pre_consumer: 0.0, post_consumer: 0.05 },
        },
      ],
    },
    end_of_life: {
      dismantling: "remove rotor; magnets glued, heat to 350 C to release",
      use_type: "concentrated",
    },
  };
}

/** A magnet set claiming `ndG` of recycled Nd from `oxideLot`. */
function magnet(serial: string, oxideLot: string, ndG: number): Registration {
  return {
    granularity: "item",
    product: {
      gtin: MAGNET_GTIN,
      serial,
      name: "Sintered NdFeB magnet set",
      category: "ndfeb_magnet",
      net_mass_g: 1500,
      placed_on_market: { date: "2042-01-10", country: "DE" },
    },
    ree_content: {
      components: [
        {
          name: "magnet set",
          material: "NdFeB-sintered",
          mass_g: 1500,
          elements: [
            { element: "Nd", mass_g: 330 },
            { element: "Pr", mass_g: 100 },
          ],
          recycled_content: {
            post_consumer: 0.6,
            sources: [{ lot: oxideLot, elements: [{ element: "Nd", mass_g: ndG }] }],
          },
        },
      ],
    },
  };
}

async function main(): Promise<void> {
  const admin = client(ADMIN_KEY);
  const me = expect(await admin.GET("/api/v1/whoami"), 200, "whoami");
  check(me.role === "admin", `the bootstrap key is ${me.role}'s`);
  ok("the admin key is an admin's");

  // 1. The admin creates the organisations, and gives the manufacturer and the recycler their
  //    GS1 Company Prefixes.
  async function newOrg(
    name: string,
    role: Schemas["Role"],
    operatorId?: Schemas["OperatorId"],
    prefix?: string,
  ) {
    const created = expect(
      await admin.POST("/api/v1/orgs", { body: { name, role, operator_id: operatorId ?? null } }),
      201,
      `create ${name}`,
    );
    check(created.role === role && created.name === name, `${name}: ${JSON.stringify(created)}`);
    check(created.api_key.startsWith("rtk_"), `${name}: key ${created.api_key.slice(0, 6)}...`);
    ok(`admin created ${role} "${name}"`);
    if (prefix !== undefined) {
      const held = expect(
        await admin.POST("/api/v1/orgs/{org_id}/gs1-prefixes", {
          params: { path: { org_id: created.org_id } },
          body: { prefix },
        }),
        201,
        `GS1 prefix of ${name}`,
      );
      check(held.prefix === prefix, `${name}: prefix ${held.prefix}`);
      ok(`admin gave "${name}" the GS1 Company Prefix ${prefix}`);
    }
    return created;
  }
  const eori = "FR" + digits(12);
  const maker = await newOrg(
    "Acme Motors (typescript)",
    "manufacturer",
    { scheme: "eori", value: eori },
    MAKER_PREFIX,
  );
  const collector = await newOrg("Collecte Lyon (typescript)", "recycler");
  const recycler = await newOrg(
    "Urban Mine Recycling (typescript)",
    "recycler",
    undefined,
    RECYCLER_PREFIX,
  );
  const regulator = await newOrg("Agence de l'environnement (typescript)", "regulator");
  const asMaker = client(maker.api_key);
  const asCollector = client(collector.api_key);
  const asRecycler = client(recycler.api_key);
  const asRegulator = client(regulator.api_key);
  const anyone = client();

  // 2. The manufacturer registers one item passport and a bulk of 1,000.
  const serial = `TS${TAG}-000001`;
  const idempotency = { "Idempotency-Key": `ts-${TAG}-motor` };
  const issued = expect(
    await asMaker.POST("/api/v1/passports", { body: motor(serial), params: { header: idempotency } }),
    201,
    "register the motor",
  );
  check(issued.version === 1 && issued.status === "active", `motor: ${JSON.stringify(issued)}`);
  check(issued.uri === `${BASE}/01/${MOTOR_GTIN}/21/${serial}`, `motor resolver URL ${issued.uri}`);
  const proof = (issued.credential as { proof?: { cryptosuite?: string } }).proof;
  check(proof?.cryptosuite === "eddsa-jcs-2022", `motor proof ${JSON.stringify(proof)}`);
  ok(`manufacturer registered the motor ${issued.id} at ${issued.uri}`);
  const motorId = issued.id;
  const again = expect(
    await asMaker.POST("/api/v1/passports", { body: motor(serial), params: { header: idempotency } }),
    201,
    "retry with the same Idempotency-Key",
  );
  check(again.id === motorId, "an idempotent retry answers the first passport");
  ok("an idempotent retry answers the same passport");

  const lines = Array.from({ length: 1000 }, (_, i) => motor(`TS${TAG}-B${String(i).padStart(4, "0")}`));
  const started = Date.now();
  const outcome = expect(await asMaker.POST("/api/v1/passports/bulk", { body: lines }), 200, "bulk");
  check(outcome.created === 1000 && outcome.failed === 0, `bulk: ${outcome.created} created`);
  check(outcome.results.length === 1000, `bulk: ${outcome.results.length} results`);
  check(outcome.results.every((r) => r.status === 201 && r.id), "every bulk line is 201");
  check(
    outcome.results.map((r) => r.line).sort((a, b) => a - b).every((line, i) => line === i + 1),
    "one result per line, numbered from 1",
  );
  ok(`manufacturer registered a bulk of 1,000 in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // The regulator pages through the GTIN's passports (oldest first) until it meets the bulk.
  const bulkIds = new Set(outcome.results.map((r) => r.id));
  const seen = new Set<string>();
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = expect(
      await asRegulator.GET("/api/v1/passports", {
        params: { query: { gtin: MOTOR_GTIN, limit: 500, ...(cursor ? { cursor } : {}) } },
      }),
      200,
      "the regulator lists the motors",
    );
    pages += 1;
    for (const item of page.items) seen.add(item.id);
    cursor = page.next_cursor ?? undefined;
    if (!cursor || [...bulkIds].every((id) => id && seen.has(id))) break;
  }
  check(seen.has(motorId), "the regulator sees the motor");
  check([...bulkIds].every((id) => id && seen.has(id)), "the regulator sees the whole bulk");
  ok(`the regulator pages through the GTIN's passports (${seen.size} in ${pages} pages)`);

  // 3. Custody: scan, collect, hand over, accept, sort.
  const product = { params: { path: { passport_id: motorId } } };
  let scan = expect(await asCollector.GET("/api/v1/custody/{passport_id}", product), 200, "scan");
  check(scan.custody.state === "in_use", `scan: ${scan.custody.state}`);
  check(JSON.stringify(scan.next.actions) === '["collect"]', `scan: next ${scan.next.actions}`);
  check(scan.product.epc === `https://id.gs1.org/01/${MOTOR_GTIN}/21/${serial}`, `epc ${scan.product.epc}`);
  ok("the collector scans the motor: in use, may collect");
  const view = expect(
    await asCollector.GET("/api/v1/passports/{id}", { params: { path: { id: motorId } } }),
    200,
    "the collector reads the passport",
  );
  check(view.tier === "professional", `a recycler reads the ${view.tier} tier`);
  ok("the collector reads the passport in the professional tier");

  async function step(as: ReturnType<typeof client>, body: StepRequest, state: Schemas["State"], what: string) {
    const recorded = expect(await as.POST("/api/v1/custody/{passport_id}/events", { ...product, body }), 201, what);
    check(recorded.custody.state === state, `${what}: state ${recorded.custody.state}, want ${state}`);
    check(recorded.event_id.startsWith("ni:///sha-256;"), `${what}: event id ${recorded.event_id}`);
    ok(`${what} -> ${state}`);
    return recorded;
  }
  await step(
    asCollector,
    {
      action: "collect",
      at: "2026-09-02T09:30:00+02:00",
      location: { id: "urn:epc:id:sgln:4012345.00001.0", country: "FR" },
      measured_mass_g: 48100,
    },
    "collected",
    "collect",
  );
  refused(
    await asRecycler.POST("/api/v1/custody/{passport_id}/events", {
      ...product,
      body: { action: "sort", at: "2026-09-03T09:00:00Z" },
    }),
    409,
    "step_not_allowed",
    "a non-holder's step",
  );
  ok("a step by a non-holder is refused: 409 step_not_allowed");
  const handed = await step(
    asCollector,
    { action: "handover", at: "2026-09-03T10:00:00Z", to_org: recycler.org_id },
    "collected",
    "hand over to the second recycler",
  );
  check(handed.custody.pending_to === recycler.org_id, `pending ${handed.custody.pending_to}`);
  check(handed.custody.holder === collector.org_id, `holder ${handed.custody.holder}`);
  await step(asRecycler, { action: "accept", at: "2026-09-04T08:00:00Z" }, "received", "accept");
  scan = expect(await asRecycler.GET("/api/v1/custody/{passport_id}", product), 200, "scan after accept");
  check(scan.custody.holder === recycler.org_id, `holder after accept ${scan.custody.holder}`);
  ok("the second recycler holds the motor");
  await step(asRecycler, { action: "sort", at: "2026-09-05T08:00:00Z" }, "sorted", "sort");

  // 4. Dismantling into a magnet lot, recycling into an oxide lot.
  const dismantled = expect(
    await asRecycler.POST("/api/v1/custody/transformations", {
      body: {
        process: "dismantling",
        at: "2026-10-02T10:00:00Z",
        inputs: [{ passport: motorId }],
        outputs: [
          {
            kind: "lot",
            material: "NdFeB-sintered",
            mass_g: 1480,
            elements: [
              { element: "Nd", mass_g: 330 },
              { element: "Pr", mass_g: 100 },
              { element: "Dy", mass_g: 58 },
              { element: "Tb", mass_g: 7 },
            ],
          },
        ],
      },
    }),
    201,
    "dismantle",
  );
  check(massOf(dismantled.losses, "Nd") === 7.5, `Nd loss ${JSON.stringify(dismantled.losses)}`);
  check(massOf(dismantled.losses, "Tb") === 0.5, `Tb loss ${JSON.stringify(dismantled.losses)}`);
  const magnetLot = dismantled.lots[0]?.lot_id;
  check(magnetLot, "the dismantling made a lot");
  ok(`dismantled into magnet lot ${magnetLot} (7.5 g Nd lost)`);
  scan = expect(await asRecycler.GET("/api/v1/custody/{passport_id}", product), 200, "scan after dismantling");
  check(scan.custody.state === "dismantled", `after dismantling: ${scan.custody.state}`);
  check(scan.events.length === 5, `collect, handover, accept, sort, dismantling: ${scan.events.length}`);
  ok("the motor is dismantled, with its five events");

  const oxideLotNumber = `OX${TAG}`;
  const recycled = expect(
    await asRecycler.POST("/api/v1/custody/transformations", {
      params: { header: { "Idempotency-Key": `ts-${TAG}-recycle` } },
      body: {
        process: "recycling",
        at: "2026-11-01T10:00:00Z",
        inputs: [{ lot: magnetLot, mass_g: 1480 }],
        outputs: [
          {
            kind: "oxide",
            material: "NdPr oxide",
            mass_g: 500,
            gtin: OXIDE_GTIN,
            lot_number: oxideLotNumber,
            elements: [
              { element: "Nd", mass_g: 300 },
              { element: "Pr", mass_g: 90 },
              { element: "Dy", mass_g: 50 },
              { element: "Tb", mass_g: 6 },
            ],
          },
        ],
      },
    }),
    201,
    "recycle",
  );
  const oxide = recycled.lots[0];
  check(oxide, "the recycling made a lot");
  check(oxide.epc === `https://id.gs1.org/01/${OXIDE_GTIN}/10/${oxideLotNumber}`, `oxide epc ${oxide.epc}`);
  check(massOf(recycled.losses, "Nd") === 30, `Nd loss ${JSON.stringify(recycled.losses)}`);
  ok(`recycled into oxide lot ${oxide.lot_id} (${oxide.epc})`);
  const used = expect(
    await asRecycler.GET("/api/v1/lots/{lot_id}", { params: { path: { lot_id: magnetLot } } }),
    200,
    "read the magnet lot",
  );
  check(used.state === "consumed" && used.remaining_g === 0, `magnet lot ${used.state}`);
  ok("the magnet lot is consumed");

  // 5. Closing the loop: a magnet passport claims recycled Nd from the oxide.
  const claimed = expect(
    await asMaker.POST("/api/v1/passports", { body: magnet(`TSM${TAG}`, oxide.lot_id, 150) }),
    201,
    "register the magnet with recycled content",
  );
  ok(`manufacturer registered magnet ${claimed.id} with 150 g recycled Nd`);
  const lot = expect(
    await asMaker.GET("/api/v1/lots/{lot_id}", { params: { path: { lot_id: oxide.lot_id } } }),
    200,
    "read the oxide lot",
  );
  check(massOf(lot.claimed, "Nd") === 150, `claimed ${JSON.stringify(lot.claimed)}`);
  check(massOf(lot.claimable, "Nd") === 150, `claimable ${JSON.stringify(lot.claimable)}`);
  check(lot.claims[0]?.passport_id === claimed.id, `claims ${JSON.stringify(lot.claims)}`);
  ok("the oxide lot shows the claim: 150 g Nd claimed, 150 g left");
  refused(
    await asMaker.POST("/api/v1/passports", { body: magnet(`TSN${TAG}`, oxide.lot_id, 151) }),
    409,
    "over_claim",
    "an over-claim",
  );
  ok("an over-claim is refused: 409 over_claim");

  // 6. The log: the collect event gets into a signed checkpoint (published within about a
  // second); until then its inclusion proof is 409 (newer than the checkpoint) or 404.
  const events = expect(await asRegulator.GET("/api/v1/custody/{passport_id}", product), 200, "regulator scan").events;
  const collectEvent = events[0]?.event_id;
  check(collectEvent, "the motor has events");
  const deadline = Date.now() + 10_000;
  let proofAnswer = await anyone.GET("/api/v1/log/proofs/inclusion", { params: { query: { event_id: collectEvent } } });
  while (proofAnswer.response.status !== 200) {
    check(
      [404, 409].includes(proofAnswer.response.status) && Date.now() < deadline,
      `inclusion proof: ${proofAnswer.response.status} ${JSON.stringify(proofAnswer.error)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    proofAnswer = await anyone.GET("/api/v1/log/proofs/inclusion", { params: { query: { event_id: collectEvent } } });
  }
  const inclusion = expect(proofAnswer, 200, "inclusion proof of the collect event");
  check(inclusion.leaf_index < inclusion.tree_size, JSON.stringify(inclusion));
  const checkpoint = expect(await anyone.GET("/api/v1/log/checkpoint"), 200, "checkpoint");
  // JSON by default; the type also allows the text/plain note another Accept would get.
  check(typeof checkpoint === "object" && checkpoint.tree_size >= inclusion.tree_size, "checkpoint size");
  ok(`the collect event is leaf ${inclusion.leaf_index} of a ${inclusion.tree_size}-leaf checkpoint`);

  // 7. [stock] Flows, indicators and the tidy export, as each party may see them. The stock
  // service projects the passport and custody feeds asynchronously: wait until the recycled Nd
  // reaches the recycler's own flows, then read exact figures (in kg) in each party's scope.
  type FlowsQuery = NonNullable<paths["/api/v1/stock/flows"]["get"]["parameters"]["query"]>;
  const nd2026 = { element: "Nd", year_from: 2026, year_to: 2026, group_by: "year" } as const;
  const motors = { country: "FR", category: "ev_traction_motor" } as const;
  async function flows(as: ReturnType<typeof client>, what: string, query: Partial<FlowsQuery> = {}) {
    const answer = expect(
      await as.GET("/api/v1/stock/flows", { params: { query: { ...nd2026, ...query } } }),
      200,
      what,
    );
    return { answer, byFlow: new Map(answer.rows.map((row) => [row.flow, row])) };
  }
  const close = (a: number | null | undefined, b: number) => typeof a === "number" && Math.abs(a - b) < 1e-6;
  const stockDeadline = Date.now() + 20_000;
  let own = (await flows(asRecycler, "the recycler reads its own flows")).byFlow;
  while (!own.has("recycled") && Date.now() < stockDeadline) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    own = (await flows(asRecycler, "the recycler reads its own flows")).byFlow;
  }
  for (const [flow, kg] of [
    ["sorted", 0.3375],
    ["dismantled", 0.3375],
    ["recycling_input", 0.33],
    ["recycled", 0.3],
    ["losses", 0.0075 + 0.03],
  ] as const) {
    const row = own.get(flow);
    check(row && close(row.value, kg), `recycler ${flow}: ${JSON.stringify(row)}, not ${kg} kg`);
  }
  ok("the recycler's own 2026 Nd flows: sorted 0.3375, recycled 0.3, losses 0.0375 kg");
  const collected = (await flows(asCollector, "the collector reads its own flows")).byFlow.get("collected");
  check(close(collected?.value, 0.3375), `collected: ${JSON.stringify(collected)}`);
  ok("the collector's own 2026 Nd flows: collected 0.3375 kg");

  // The manufacturer's own scope: what it recorded, 1,001 motors of 337.5 g Nd placed on the
  // market in France (their collection and recycling were recorded by the recyclers).
  const placed = 1001 * 0.3375;
  // The stock service projects the passport feed on its own: wait until the bulk is in.
  const placedDeadline = Date.now() + 20_000;
  let mine = (await flows(asMaker, "the manufacturer reads its flows", motors)).byFlow;
  while (!close(mine.get("placed_on_market")?.value, placed) && Date.now() < placedDeadline) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    mine = (await flows(asMaker, "the manufacturer reads its flows", motors)).byFlow;
  }
  check(close(mine.get("placed_on_market")?.value, placed), `placed: ${JSON.stringify(mine.get("placed_on_market"))}`);
  const indicators = expect(
    await asMaker.GET("/api/v1/stock/indicators", {
      params: { query: { element: "Nd", year_from: 2026, year_to: 2026, ...motors } },
    }),
    200,
    "the manufacturer reads the indicators",
  );
  check(indicators.rows.length === 1, `one year of indicators: ${JSON.stringify(indicators.rows)}`);
  const year = indicators.rows[0]!;
  check(close(year.placed_on_market.value, placed), `indicators: ${JSON.stringify(year)}`);
  check(year.collected.value === 0 && year.recycled.value === 0, `indicators: ${JSON.stringify(year)}`);
  const inUse = year.stock_in_use.value;
  check(typeof inUse === "number" && inUse > 0 && inUse <= placed, `stock in use: ${JSON.stringify(year)}`);
  check(
    indicators.definitions.some((d) => d.name === "collection_rate"),
    `definitions: ${indicators.definitions.map((d) => d.name)}`,
  );
  ok(`the manufacturer's indicators 2026: placed ${placed.toFixed(4)} kg, modelled stock in use ${inUse.toFixed(4)} kg`);
  const csv = await asMaker.GET("/api/v1/stock/export.csv", {
    params: { query: { element: "Nd", year_from: 2026, year_to: 2026, ...motors } },
    parseAs: "text",
  });
  check(csv.response.status === 200 && typeof csv.data === "string", `CSV export: ${csv.response.status}`);
  const csvLines = csv.data.trim().split("\n");
  check(
    csvLines[0] === "year,country,category,element,flow,basis,value,unit,parameters_version,coarser_group_by",
    `CSV header ${csvLines[0]}`,
  );
  const placedLine = csvLines.filter((l) => l.startsWith("2026,FR,ev_traction_motor,Nd,placed_on_market,observed,"));
  check(placedLine.length === 1 && close(Number(placedLine[0]!.split(",")[6]), placed), `CSV: ${placedLine}`);
  ok(`the CSV export has ${csvLines.length - 1} rows, placed on the market ${placed.toFixed(4)} kg`);

  // Anyone reads the published statistics without a key, under disclosure control: a cell made
  // of fewer than k organisations is withheld (suppressed, no value), never shown as zero.
  const published = (await flows(anyone, "anyone reads the published flows", motors)).answer;
  check(published.scope === "published", `scope ${published.scope}`);
  check(published.disclosure && published.disclosure.k >= 2, `disclosure ${JSON.stringify(published.disclosure)}`);
  const withheld = published.rows.filter((row) => row.suppressed);
  // The count covers the totals too.
  check(published.disclosure.suppressed >= withheld.length, `${JSON.stringify(published.disclosure)} vs ${withheld.length}`);
  for (const row of published.rows) {
    if (row.suppressed) {
      check(row.value === undefined, `a withheld cell with a value: ${JSON.stringify(row)}`);
    } else {
      const floor = mine.get(row.flow)?.value ?? 0;
      check(typeof row.value === "number" && row.value >= floor - 1e-9, JSON.stringify(row));
    }
  }
  ok(`anyone reads ${published.rows.length} published flows, ${withheld.length} withheld (k=${published.disclosure.k})`);
  // The regulator, an authority, reads every figure exactly (its reads are audited).
  const regulatorView = (await flows(asRegulator, "the regulator reads the flows", motors)).answer;
  check(regulatorView.scope === "all" && !regulatorView.disclosure, `${regulatorView.scope} ${JSON.stringify(regulatorView.disclosure)}`);
  for (const row of regulatorView.rows) {
    const floor = mine.get(row.flow)?.value ?? 0;
    check(!row.suppressed && typeof row.value === "number" && row.value >= floor - 1e-9, JSON.stringify(row));
  }
  const regulatorPlaced = regulatorView.rows.find((row) => row.flow === "placed_on_market");
  check(regulatorPlaced, "the regulator sees the placed-on-market cell");
  ok(`the regulator reads ${regulatorView.rows.length} flows exactly; placed on the market: ${regulatorPlaced.value} kg`);

  // 8. Anyone verifies the credentials.
  async function credentialOf(id: string): Promise<Record<string, unknown>> {
    const answer = await anyone.GET("/api/v1/passports/{id}/credential", { params: { path: { id } } });
    return expect(answer, 200, `fetch the credential of ${id}`) as Record<string, unknown>;
  }
  for (const [id, what] of [
    [motorId, "the motor's credential"],
    [claimed.id, "the magnet's"],
  ] as const) {
    const credential = await credentialOf(id);
    const result = expect(
      await anyone.POST("/credentials/verify", { body: { verifiableCredential: credential } }),
      200,
      `verify ${what}`,
    );
    check(result.verified, `${what}: not verified: ${JSON.stringify(result.errors)}`);
    for (const name of ["proof", "issuer", "validity", "status"]) {
      check(result.checks.includes(name), `${what}: checks ${result.checks}`);
    }
    check(result.errors.length === 0, `${what}: errors ${JSON.stringify(result.errors)}`);
    ok(`${what}: verified (${result.checks.join(", ")})`);
  }
  const tampered = await credentialOf(motorId);
  (tampered.credentialSubject as { product: { name: string } }).product.name = "Something else";
  const answer = await anyone.POST("/credentials/verify", { body: { verifiableCredential: tampered } });
  check(answer.response.status === 400, `a tampered credential: ${answer.response.status}`);
  const result = answer.error as Schemas["VerificationResult"];
  check(result.verified === false, "a tampered credential does not verify");
  check(result.errors.some((e) => e.check === "proof"), `errors ${JSON.stringify(result.errors)}`);
  ok("a tampered credential is refused: 400, the proof check fails");

  console.log(`typescript: ${passed} passed, 0 failed`);
}

main().catch((failure: unknown) => {
  console.error(`typescript: FAIL ${failure instanceof Error ? failure.message : String(failure)}`);
  console.log(`typescript: ${passed} passed, 1 failed`);
  process.exit(1);
});
