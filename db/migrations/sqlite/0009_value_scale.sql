-- The scale the stored value scores were computed under: the largest gross profit and sales
-- volume of any account. An edit that leaves it as it is rescores its own account only.
CREATE TABLE value_scale (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    max_gross_profit BIGINT NOT NULL,
    max_sales_volume BIGINT NOT NULL
);
CREATE INDEX accounts_gross_profit ON accounts (gross_profit);
CREATE INDEX accounts_sales_volume ON accounts (sales_volume);
