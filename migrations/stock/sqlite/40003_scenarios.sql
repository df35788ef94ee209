-- Policy scenarios: one row per version of a scenario, none ever replaced. The organisation
-- that made the scenario owns it; `shared` lets the other authorities read it.
CREATE TABLE stock_scenarios (
    scenario_id BLOB NOT NULL,
    version     INTEGER NOT NULL,
    org_id      BLOB NOT NULL,
    name        TEXT NOT NULL,
    shared      BOOLEAN NOT NULL,
    definition  TEXT NOT NULL,          -- JSON: name, description, shared, levers
    created_at  TEXT NOT NULL,
    PRIMARY KEY (scenario_id, version)
);
CREATE INDEX stock_scenarios_org ON stock_scenarios (org_id);
