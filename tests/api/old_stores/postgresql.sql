-- Stores as the numbered migrations before Alembic made them (postgresql), for the tests that
-- upgrade them in place. Each step is the DDL that step ran: `metadata.create_all` of the
-- schema.py of its commit, compiled for postgresql, and the row it wrote in `schema_version`.
--   schema_version  the bookkeeping table, created before any step
--   1               migration 1 as first shipped (bf747bc: the fleet without efficiencies)
--   1+eta           migration 1 as run from 427e972 on (schema.py's fleet had them)
--   2-alter         migration 2 on a store whose fleet lacked the efficiencies
--   2               migration 2: dispatch tables (a7c0010)
--   3               migration 3: settlement tables (4e8e884)
-- Never edit: these are what exists in the field.

-- step: schema_version
CREATE TABLE schema_version (
    version SERIAL NOT NULL,
    name VARCHAR(200) NOT NULL,
    applied_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (version)
);

-- step: 1
CREATE TABLE auctions (
    auction_id VARCHAR(64) NOT NULL,
    config_json TEXT NOT NULL,
    delivery_day DATE NOT NULL,
    gate_open TIMESTAMP WITH TIME ZONE,
    gate_close TIMESTAMP WITH TIME ZONE NOT NULL,
    publish_at TIMESTAMP WITH TIME ZONE NOT NULL,
    auto_publish BOOLEAN NOT NULL,
    status VARCHAR(16) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (auction_id)
);

CREATE TABLE audit_events (
    seq BIGSERIAL NOT NULL,
    event_id VARCHAR(64) NOT NULL,
    at TIMESTAMP WITH TIME ZONE NOT NULL,
    actor VARCHAR(64) NOT NULL,
    org_id VARCHAR(64),
    action VARCHAR(64) NOT NULL,
    subject VARCHAR(200) NOT NULL,
    detail_json TEXT NOT NULL,
    PRIMARY KEY (seq),
    UNIQUE (event_id)
);

CREATE INDEX ix_audit_events_at ON audit_events (at);

CREATE TABLE fleet_assets (
    asset_id VARCHAR(64) NOT NULL,
    tso_zone VARCHAR(16) NOT NULL,
    p_charge_mw DOUBLE PRECISION NOT NULL,
    p_discharge_mw DOUBLE PRECISION NOT NULL,
    e_min_mwh DOUBLE PRECISION NOT NULL,
    e_max_mwh DOUBLE PRECISION NOT NULL,
    fcr BOOLEAN NOT NULL,
    afrr_pos BOOLEAN NOT NULL,
    afrr_neg BOOLEAN NOT NULL,
    owner_org VARCHAR(64),
    PRIMARY KEY (asset_id)
);

CREATE TABLE fleet_outages (
    outage_id VARCHAR(64) NOT NULL,
    asset_id VARCHAR(64) NOT NULL,
    start TIMESTAMP WITH TIME ZONE NOT NULL,
    "end" TIMESTAMP WITH TIME ZONE NOT NULL,
    available_fraction DOUBLE PRECISION NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (outage_id)
);

CREATE INDEX ix_fleet_outages_asset_id ON fleet_outages (asset_id);

CREATE TABLE idempotency_keys (
    user_id VARCHAR(64) NOT NULL,
    key VARCHAR(200) NOT NULL,
    request_sha256 VARCHAR(64) NOT NULL,
    status_code INTEGER NOT NULL,
    response_json TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE organisations (
    org_id VARCHAR(64) NOT NULL,
    name VARCHAR(200) NOT NULL,
    eic VARCHAR(16) NOT NULL,
    tso_zone VARCHAR(16) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (org_id),
    UNIQUE (name)
);

CREATE TABLE allocation (
    auction_id VARCHAR(64) NOT NULL,
    row_no INTEGER NOT NULL,
    product_id VARCHAR(64) NOT NULL,
    market VARCHAR(16) NOT NULL,
    asset_id VARCHAR(64) NOT NULL,
    kw BIGINT NOT NULL,
    PRIMARY KEY (auction_id, row_no),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id)
);

CREATE TABLE allocations (
    auction_id VARCHAR(64) NOT NULL,
    org_id VARCHAR(64) NOT NULL,
    product_id VARCHAR(64) NOT NULL,
    quantity_kw BIGINT NOT NULL,
    PRIMARY KEY (auction_id, org_id, product_id),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id),
    FOREIGN KEY(org_id) REFERENCES organisations (org_id)
);

CREATE TABLE awards (
    auction_id VARCHAR(64) NOT NULL,
    row_no INTEGER NOT NULL,
    bid_id VARCHAR(64) NOT NULL,
    org_id VARCHAR(64) NOT NULL,
    product_id VARCHAR(64) NOT NULL,
    awarded_kw BIGINT NOT NULL,
    price_cents BIGINT NOT NULL,
    payment_units BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    reason VARCHAR(32),
    PRIMARY KEY (auction_id, row_no),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id)
);

CREATE INDEX ix_awards_org ON awards (auction_id, org_id);

CREATE TABLE backing (
    auction_id VARCHAR(64) NOT NULL,
    row_no INTEGER NOT NULL,
    block_id VARCHAR(64) NOT NULL,
    asset_id VARCHAR(64) NOT NULL,
    power_kw BIGINT NOT NULL,
    energy_kwh BIGINT NOT NULL,
    PRIMARY KEY (auction_id, row_no),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id)
);

CREATE TABLE bid_versions (
    auction_id VARCHAR(64) NOT NULL,
    bid_id VARCHAR(64) NOT NULL,
    version INTEGER NOT NULL,
    action VARCHAR(16) NOT NULL,
    at TIMESTAMP WITH TIME ZONE NOT NULL,
    user_id VARCHAR(64) NOT NULL,
    org_id VARCHAR(64) NOT NULL,
    product_id VARCHAR(64) NOT NULL,
    quantity_kw BIGINT NOT NULL,
    min_quantity_kw BIGINT,
    price_cents BIGINT NOT NULL,
    exclusive_group VARCHAR(200),
    linked_to VARCHAR(64),
    PRIMARY KEY (auction_id, bid_id, version),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id),
    FOREIGN KEY(org_id) REFERENCES organisations (org_id)
);

CREATE TABLE bids (
    auction_id VARCHAR(64) NOT NULL,
    bid_id VARCHAR(64) NOT NULL,
    version INTEGER NOT NULL,
    submitted_at TIMESTAMP WITH TIME ZONE NOT NULL,
    org_id VARCHAR(64) NOT NULL,
    product_id VARCHAR(64) NOT NULL,
    quantity_kw BIGINT NOT NULL,
    min_quantity_kw BIGINT,
    price_cents BIGINT NOT NULL,
    exclusive_group VARCHAR(200),
    linked_to VARCHAR(64),
    PRIMARY KEY (auction_id, bid_id),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id),
    FOREIGN KEY(org_id) REFERENCES organisations (org_id)
);

CREATE INDEX ix_bids_org ON bids (auction_id, org_id);

CREATE TABLE blocks (
    auction_id VARCHAR(64) NOT NULL,
    row_no INTEGER NOT NULL,
    block_id VARCHAR(64) NOT NULL,
    virtual_asset_id VARCHAR(64) NOT NULL,
    market VARCHAR(16) NOT NULL,
    power_kw BIGINT NOT NULL,
    energy_kwh BIGINT NOT NULL,
    start TIMESTAMP WITH TIME ZONE NOT NULL,
    "end" TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (auction_id, row_no),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id),
    UNIQUE (block_id)
);

CREATE INDEX ix_blocks_virtual_asset_id ON blocks (virtual_asset_id);

CREATE TABLE clearings (
    auction_id VARCHAR(64) NOT NULL,
    status VARCHAR(16) NOT NULL,
    summary_json TEXT NOT NULL,
    input_sha256 VARCHAR(64) NOT NULL,
    result_sha256 VARCHAR(64) NOT NULL,
    checker_ok BOOLEAN NOT NULL,
    checker_report TEXT NOT NULL,
    fleet_csv TEXT NOT NULL,
    availability_csv TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (auction_id),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id)
);

CREATE TABLE invites (
    token_sha256 VARCHAR(64) NOT NULL,
    email VARCHAR(320) NOT NULL,
    org_id VARCHAR(64) NOT NULL,
    role VARCHAR(16) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    accepted_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (token_sha256),
    FOREIGN KEY(org_id) REFERENCES organisations (org_id)
);

CREATE TABLE products (
    auction_id VARCHAR(64) NOT NULL,
    product_id VARCHAR(64) NOT NULL,
    start TIMESTAMP WITH TIME ZONE NOT NULL,
    "end" TIMESTAMP WITH TIME ZONE NOT NULL,
    wholesale_kw BIGINT NOT NULL,
    wholesale_h DOUBLE PRECISION NOT NULL,
    fcr_kw BIGINT NOT NULL,
    afrr_pos_kw BIGINT NOT NULL,
    afrr_neg_kw BIGINT NOT NULL,
    min_kw BIGINT NOT NULL,
    increment_kw BIGINT NOT NULL,
    reserve_cents BIGINT NOT NULL,
    max_kw BIGINT,
    eta_charge DOUBLE PRECISION NOT NULL,
    eta_discharge DOUBLE PRECISION NOT NULL,
    daily_cycle_limit DOUBLE PRECISION,
    PRIMARY KEY (auction_id, product_id),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id)
);

CREATE TABLE users (
    user_id VARCHAR(64) NOT NULL,
    email VARCHAR(320) NOT NULL,
    org_id VARCHAR(64) NOT NULL,
    role VARCHAR(16) NOT NULL,
    password_hash VARCHAR(200),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (user_id),
    UNIQUE (email),
    FOREIGN KEY(org_id) REFERENCES organisations (org_id)
);

CREATE TABLE virtual_assets (
    auction_id VARCHAR(64) NOT NULL,
    row_no INTEGER NOT NULL,
    virtual_asset_id VARCHAR(64) NOT NULL,
    org_id VARCHAR(64) NOT NULL,
    bid_id VARCHAR(64),
    product_id VARCHAR(64) NOT NULL,
    start TIMESTAMP WITH TIME ZONE NOT NULL,
    "end" TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (auction_id, row_no),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id),
    UNIQUE (virtual_asset_id)
);

INSERT INTO schema_version (version, name, applied_at) VALUES (1, 'organisations, users, fleet, auctions, bids, results, audit, idempotency', '2026-11-28 01:00:00+00');

-- step: 1+eta
CREATE TABLE auctions (
    auction_id VARCHAR(64) NOT NULL,
    config_json TEXT NOT NULL,
    delivery_day DATE NOT NULL,
    gate_open TIMESTAMP WITH TIME ZONE,
    gate_close TIMESTAMP WITH TIME ZONE NOT NULL,
    publish_at TIMESTAMP WITH TIME ZONE NOT NULL,
    auto_publish BOOLEAN NOT NULL,
    status VARCHAR(16) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (auction_id)
);

CREATE TABLE audit_events (
    seq BIGSERIAL NOT NULL,
    event_id VARCHAR(64) NOT NULL,
    at TIMESTAMP WITH TIME ZONE NOT NULL,
    actor VARCHAR(64) NOT NULL,
    org_id VARCHAR(64),
    action VARCHAR(64) NOT NULL,
    subject VARCHAR(200) NOT NULL,
    detail_json TEXT NOT NULL,
    PRIMARY KEY (seq),
    UNIQUE (event_id)
);

CREATE INDEX ix_audit_events_at ON audit_events (at);

CREATE TABLE fleet_assets (
    asset_id VARCHAR(64) NOT NULL,
    tso_zone VARCHAR(16) NOT NULL,
    p_charge_mw DOUBLE PRECISION NOT NULL,
    p_discharge_mw DOUBLE PRECISION NOT NULL,
    e_min_mwh DOUBLE PRECISION NOT NULL,
    e_max_mwh DOUBLE PRECISION NOT NULL,
    fcr BOOLEAN NOT NULL,
    afrr_pos BOOLEAN NOT NULL,
    afrr_neg BOOLEAN NOT NULL,
    owner_org VARCHAR(64),
    eta_charge DOUBLE PRECISION DEFAULT '0.95' NOT NULL,
    eta_discharge DOUBLE PRECISION DEFAULT '0.95' NOT NULL,
    PRIMARY KEY (asset_id)
);

CREATE TABLE fleet_outages (
    outage_id VARCHAR(64) NOT NULL,
    asset_id VARCHAR(64) NOT NULL,
    start TIMESTAMP WITH TIME ZONE NOT NULL,
    "end" TIMESTAMP WITH TIME ZONE NOT NULL,
    available_fraction DOUBLE PRECISION NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (outage_id)
);

CREATE INDEX ix_fleet_outages_asset_id ON fleet_outages (asset_id);

CREATE TABLE idempotency_keys (
    user_id VARCHAR(64) NOT NULL,
    key VARCHAR(200) NOT NULL,
    request_sha256 VARCHAR(64) NOT NULL,
    status_code INTEGER NOT NULL,
    response_json TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE organisations (
    org_id VARCHAR(64) NOT NULL,
    name VARCHAR(200) NOT NULL,
    eic VARCHAR(16) NOT NULL,
    tso_zone VARCHAR(16) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (org_id),
    UNIQUE (name)
);

CREATE TABLE allocation (
    auction_id VARCHAR(64) NOT NULL,
    row_no INTEGER NOT NULL,
    product_id VARCHAR(64) NOT NULL,
    market VARCHAR(16) NOT NULL,
    asset_id VARCHAR(64) NOT NULL,
    kw BIGINT NOT NULL,
    PRIMARY KEY (auction_id, row_no),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id)
);

CREATE TABLE allocations (
    auction_id VARCHAR(64) NOT NULL,
    org_id VARCHAR(64) NOT NULL,
    product_id VARCHAR(64) NOT NULL,
    quantity_kw BIGINT NOT NULL,
    PRIMARY KEY (auction_id, org_id, product_id),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id),
    FOREIGN KEY(org_id) REFERENCES organisations (org_id)
);

CREATE TABLE awards (
    auction_id VARCHAR(64) NOT NULL,
    row_no INTEGER NOT NULL,
    bid_id VARCHAR(64) NOT NULL,
    org_id VARCHAR(64) NOT NULL,
    product_id VARCHAR(64) NOT NULL,
    awarded_kw BIGINT NOT NULL,
    price_cents BIGINT NOT NULL,
    payment_units BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    reason VARCHAR(32),
    PRIMARY KEY (auction_id, row_no),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id)
);

CREATE INDEX ix_awards_org ON awards (auction_id, org_id);

CREATE TABLE backing (
    auction_id VARCHAR(64) NOT NULL,
    row_no INTEGER NOT NULL,
    block_id VARCHAR(64) NOT NULL,
    asset_id VARCHAR(64) NOT NULL,
    power_kw BIGINT NOT NULL,
    energy_kwh BIGINT NOT NULL,
    PRIMARY KEY (auction_id, row_no),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id)
);

CREATE TABLE bid_versions (
    auction_id VARCHAR(64) NOT NULL,
    bid_id VARCHAR(64) NOT NULL,
    version INTEGER NOT NULL,
    action VARCHAR(16) NOT NULL,
    at TIMESTAMP WITH TIME ZONE NOT NULL,
    user_id VARCHAR(64) NOT NULL,
    org_id VARCHAR(64) NOT NULL,
    product_id VARCHAR(64) NOT NULL,
    quantity_kw BIGINT NOT NULL,
    min_quantity_kw BIGINT,
    price_cents BIGINT NOT NULL,
    exclusive_group VARCHAR(200),
    linked_to VARCHAR(64),
    PRIMARY KEY (auction_id, bid_id, version),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id),
    FOREIGN KEY(org_id) REFERENCES organisations (org_id)
);

CREATE TABLE bids (
    auction_id VARCHAR(64) NOT NULL,
    bid_id VARCHAR(64) NOT NULL,
    version INTEGER NOT NULL,
    submitted_at TIMESTAMP WITH TIME ZONE NOT NULL,
    org_id VARCHAR(64) NOT NULL,
    product_id VARCHAR(64) NOT NULL,
    quantity_kw BIGINT NOT NULL,
    min_quantity_kw BIGINT,
    price_cents BIGINT NOT NULL,
    exclusive_group VARCHAR(200),
    linked_to VARCHAR(64),
    PRIMARY KEY (auction_id, bid_id),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id),
    FOREIGN KEY(org_id) REFERENCES organisations (org_id)
);

CREATE INDEX ix_bids_org ON bids (auction_id, org_id);

CREATE TABLE blocks (
    auction_id VARCHAR(64) NOT NULL,
    row_no INTEGER NOT NULL,
    block_id VARCHAR(64) NOT NULL,
    virtual_asset_id VARCHAR(64) NOT NULL,
    market VARCHAR(16) NOT NULL,
    power_kw BIGINT NOT NULL,
    energy_kwh BIGINT NOT NULL,
    start TIMESTAMP WITH TIME ZONE NOT NULL,
    "end" TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (auction_id, row_no),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id),
    UNIQUE (block_id)
);

CREATE INDEX ix_blocks_virtual_asset_id ON blocks (virtual_asset_id);

CREATE TABLE clearings (
    auction_id VARCHAR(64) NOT NULL,
    status VARCHAR(16) NOT NULL,
    summary_json TEXT NOT NULL,
    input_sha256 VARCHAR(64) NOT NULL,
    result_sha256 VARCHAR(64) NOT NULL,
    checker_ok BOOLEAN NOT NULL,
    checker_report TEXT NOT NULL,
    fleet_csv TEXT NOT NULL,
    availability_csv TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (auction_id),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id)
);

CREATE TABLE invites (
    token_sha256 VARCHAR(64) NOT NULL,
    email VARCHAR(320) NOT NULL,
    org_id VARCHAR(64) NOT NULL,
    role VARCHAR(16) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    accepted_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (token_sha256),
    FOREIGN KEY(org_id) REFERENCES organisations (org_id)
);

CREATE TABLE products (
    auction_id VARCHAR(64) NOT NULL,
    product_id VARCHAR(64) NOT NULL,
    start TIMESTAMP WITH TIME ZONE NOT NULL,
    "end" TIMESTAMP WITH TIME ZONE NOT NULL,
    wholesale_kw BIGINT NOT NULL,
    wholesale_h DOUBLE PRECISION NOT NULL,
    fcr_kw BIGINT NOT NULL,
    afrr_pos_kw BIGINT NOT NULL,
    afrr_neg_kw BIGINT NOT NULL,
    min_kw BIGINT NOT NULL,
    increment_kw BIGINT NOT NULL,
    reserve_cents BIGINT NOT NULL,
    max_kw BIGINT,
    eta_charge DOUBLE PRECISION NOT NULL,
    eta_discharge DOUBLE PRECISION NOT NULL,
    daily_cycle_limit DOUBLE PRECISION,
    PRIMARY KEY (auction_id, product_id),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id)
);

CREATE TABLE users (
    user_id VARCHAR(64) NOT NULL,
    email VARCHAR(320) NOT NULL,
    org_id VARCHAR(64) NOT NULL,
    role VARCHAR(16) NOT NULL,
    password_hash VARCHAR(200),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (user_id),
    UNIQUE (email),
    FOREIGN KEY(org_id) REFERENCES organisations (org_id)
);

CREATE TABLE virtual_assets (
    auction_id VARCHAR(64) NOT NULL,
    row_no INTEGER NOT NULL,
    virtual_asset_id VARCHAR(64) NOT NULL,
    org_id VARCHAR(64) NOT NULL,
    bid_id VARCHAR(64),
    product_id VARCHAR(64) NOT NULL,
    start TIMESTAMP WITH TIME ZONE NOT NULL,
    "end" TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (auction_id, row_no),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id),
    UNIQUE (virtual_asset_id)
);

INSERT INTO schema_version (version, name, applied_at) VALUES (1, 'organisations, users, fleet, auctions, bids, results, audit, idempotency', '2026-11-28 01:00:00+00');

-- step: 2-alter
ALTER TABLE fleet_assets ADD COLUMN eta_charge DOUBLE PRECISION NOT NULL DEFAULT 0.95;

ALTER TABLE fleet_assets ADD COLUMN eta_discharge DOUBLE PRECISION NOT NULL DEFAULT 0.95;

-- step: 2
CREATE TABLE backing_slices (
    slice_id BIGSERIAL NOT NULL,
    auction_id VARCHAR(64) NOT NULL,
    block_id VARCHAR(64) NOT NULL,
    asset_id VARCHAR(64) NOT NULL,
    start TIMESTAMP WITH TIME ZONE NOT NULL,
    "end" TIMESTAMP WITH TIME ZONE NOT NULL,
    power_kw BIGINT NOT NULL,
    energy_kwh BIGINT NOT NULL,
    outage_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (slice_id),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id)
);

CREATE INDEX ix_backing_slices_block_id ON backing_slices (block_id);

CREATE TABLE schedule_versions (
    block_id VARCHAR(64) NOT NULL,
    version INTEGER NOT NULL,
    auction_id VARCHAR(64) NOT NULL,
    org_id VARCHAR(64) NOT NULL,
    at TIMESTAMP WITH TIME ZONE NOT NULL,
    user_id VARCHAR(64) NOT NULL,
    power_json TEXT NOT NULL,
    points INTEGER NOT NULL,
    PRIMARY KEY (block_id, version),
    FOREIGN KEY(auction_id) REFERENCES auctions (auction_id)
);

INSERT INTO schema_version (version, name, applied_at) VALUES (2, 'dispatch: fleet efficiencies, schedules, re-backing', '2026-11-28 03:00:00+00');

-- step: 3
CREATE TABLE invoice_lines (
    day DATE NOT NULL,
    version INTEGER NOT NULL,
    row_no INTEGER NOT NULL,
    auction_id VARCHAR(64) NOT NULL,
    org_id VARCHAR(64) NOT NULL,
    kind VARCHAR(32) NOT NULL,
    virtual_asset_id VARCHAR(64),
    bid_id VARCHAR(64),
    product_id VARCHAR(64),
    start TIMESTAMP WITH TIME ZONE,
    "end" TIMESTAMP WITH TIME ZONE,
    description TEXT NOT NULL,
    quantity VARCHAR(32),
    unit VARCHAR(8),
    unit_price_eur VARCHAR(32),
    amount_units BIGINT NOT NULL,
    PRIMARY KEY (day, version, row_no)
);

CREATE INDEX ix_invoice_lines_org ON invoice_lines (org_id, day);

CREATE TABLE nomination_documents (
    day DATE NOT NULL,
    version INTEGER NOT NULL,
    org_id VARCHAR(64) NOT NULL,
    document_id VARCHAR(64) NOT NULL,
    mtu_json TEXT NOT NULL,
    csv_text TEXT NOT NULL,
    xml_text TEXT NOT NULL,
    PRIMARY KEY (day, version, org_id)
);

CREATE TABLE settlement_runs (
    day DATE NOT NULL,
    version INTEGER NOT NULL,
    run_at TIMESTAMP WITH TIME ZONE NOT NULL,
    actor VARCHAR(64) NOT NULL,
    imbalance_price_cents BIGINT NOT NULL,
    report_json TEXT NOT NULL,
    PRIMARY KEY (day, version)
);

INSERT INTO schema_version (version, name, applied_at) VALUES (3, 'settlement: runs, invoice lines, nomination documents', '2026-11-28 05:00:00+00');
