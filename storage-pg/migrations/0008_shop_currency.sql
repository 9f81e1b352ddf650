-- The currency belongs to the shop: recorded once, when the shop is created (`shopbot init`),
-- and never changed afterwards. NULL in a database made before shops recorded their currency:
-- such a shop adopts one at its first open (`Storage::adopt_currency`), and from then on every
-- process that opens it sells in that one.

ALTER TABLE settings
    ADD COLUMN currency CHAR(3) CHECK (currency ~ '^[A-Z]{3}$');
