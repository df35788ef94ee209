-- The net mass of one unit of the product, in micrograms, as the passport's current version
-- states it (the basis of the ranking of categories by value of rare earths per tonne of
-- product). Passports stored before this column have none (NULL): the feed is not replayed, so
-- their mass stays unknown until a new version of the passport arrives, and the ranking says
-- how many units lack a mass.
ALTER TABLE stock_passports ADD COLUMN net_mass_ug bigint;
