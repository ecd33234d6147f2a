-- The acceptance certificates' numbers (kamflow.CertificateStore): KF-<year>-<6 digits>,
-- sequential per year, given once per deal's certificate and the same on every download. Keep in
-- step with ../sqlite/0100_certificates.sql.

-- certificate_years holds the last sequence number given in each year. Allocating increments its
-- row (inserting it for the year's first), whose lock makes concurrent allocations of a year take
-- their turns; an allocation that then finds its deal numbered already rolls back, leaving no gap.
CREATE TABLE certificate_years (
    year     integer PRIMARY KEY,
    last_seq integer NOT NULL
);

-- certificates is the number given to each deal's certificate. number is unique as a whole and
-- (year, seq) within the year.
CREATE TABLE certificates (
    deal_id    text PRIMARY KEY,
    year       integer NOT NULL,
    seq        integer NOT NULL,
    number     text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    UNIQUE (year, seq)
);
