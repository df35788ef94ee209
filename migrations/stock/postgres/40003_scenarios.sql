-- Policy scenarios: one row per version of a scenario, none ever replaced. The organisation
-- that made the scenario owns it; `shared` lets the other authorities read it.
CREATE TABLE stock_scenarios (
    scenario_id uuid NOT NULL,
    version     bigint NOT NULL,
    org_id      uuid NOT NULL,
    name        text NOT NULL,
    shared      boolean NOT NULL,
    definition  text NOT NULL,          -- JSON: name, description, shared, levers
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (scenario_id, version)
);
CREATE INDEX stock_scenarios_org ON stock_scenarios (org_id);
