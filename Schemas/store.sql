-- The SehatSync store schema: what the migrations in
-- Sources/SehatSync/Storage/StoreSchema.swift produce on an empty database.
-- A test (StoreSchemaTests) applies this file and the migrations to two empty databases
-- and asserts that their schemas are equal; update both together.

CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
);

CREATE TABLE config (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    org_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret_file TEXT NOT NULL,
    profile TEXT NOT NULL CHECK (profile IN ('satusehat', 'fhir')),
    base_url TEXT NOT NULL,
    auth_url TEXT NOT NULL,
    emergency_url TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
, sync_settings TEXT CHECK (sync_settings IS NULL OR json_valid(sync_settings)), link_state TEXT CHECK (link_state IS NULL OR json_valid(link_state)), str_check TEXT NOT NULL DEFAULT 'warn' CHECK (str_check IN ('warn', 'refuse', 'off')));

CREATE TABLE resources (
    local_id TEXT PRIMARY KEY,
    resource_type TEXT NOT NULL,
    identifier_system TEXT NOT NULL,
    identifier_value TEXT NOT NULL,
    json TEXT NOT NULL CHECK (json_valid(json)),
    server_id TEXT,
    encounter_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL, server_version TEXT,
    UNIQUE (resource_type, identifier_system, identifier_value)
);

CREATE INDEX resources_by_encounter ON resources(encounter_id) WHERE encounter_id IS NOT NULL;

CREATE TABLE locations (
    local_id TEXT PRIMARY KEY REFERENCES resources(local_id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE practitioners (
    local_id TEXT PRIMARY KEY REFERENCES resources(local_id),
    nik TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    ihs_id TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE patients (
    local_id TEXT PRIMARY KEY REFERENCES resources(local_id),
    nik TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    gender TEXT NOT NULL CHECK (gender IN ('male', 'female')),
    birth_date TEXT NOT NULL,
    ihs_id TEXT,
    consent_scope TEXT NOT NULL CHECK (consent_scope IN ('all', 'encounter_only', 'none')),
    consent_valid_from TEXT NOT NULL,
    consent_valid_until TEXT,
    consent_revoked_at TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE encounters (
    local_id TEXT PRIMARY KEY REFERENCES resources(local_id),
    number TEXT NOT NULL UNIQUE,
    patient_id TEXT NOT NULL REFERENCES patients(local_id),
    practitioner_id TEXT NOT NULL REFERENCES practitioners(local_id),
    location_id TEXT NOT NULL REFERENCES locations(local_id),
    class TEXT NOT NULL CHECK (class IN ('AMB', 'EMER', 'IMP', 'HH', 'TELE')),
    arrived_at TEXT NOT NULL,
    in_progress_at TEXT NOT NULL,
    finished_at TEXT NOT NULL CHECK (finished_at > arrived_at),
    created_at TEXT NOT NULL
, str_warning TEXT, cancelled_at TEXT, cancel_reason TEXT);

CREATE INDEX encounters_by_patient ON encounters(patient_id);

CREATE TABLE vitals (
    local_id TEXT PRIMARY KEY REFERENCES resources(local_id),
    encounter_id TEXT NOT NULL REFERENCES encounters(local_id),
    loinc TEXT NOT NULL,
    display TEXT NOT NULL,
    value REAL NOT NULL,
    unit TEXT NOT NULL,
    measured_at TEXT NOT NULL
);

CREATE INDEX vitals_by_encounter ON vitals(encounter_id);

CREATE TABLE diagnoses (
    local_id TEXT PRIMARY KEY REFERENCES resources(local_id),
    encounter_id TEXT NOT NULL REFERENCES encounters(local_id),
    icd10 TEXT NOT NULL,
    display TEXT NOT NULL,
    clinical_status TEXT NOT NULL,
    rank INTEGER NOT NULL
);

CREATE INDEX diagnoses_by_encounter ON diagnoses(encounter_id);

CREATE TABLE procedures (
    local_id TEXT PRIMARY KEY REFERENCES resources(local_id),
    encounter_id TEXT NOT NULL REFERENCES encounters(local_id),
    icd9cm TEXT NOT NULL,
    display TEXT NOT NULL,
    performed_start TEXT NOT NULL,
    performed_end TEXT NOT NULL
);

CREATE INDEX procedures_by_encounter ON procedures(encounter_id);

CREATE TABLE prescriptions (
    local_id TEXT PRIMARY KEY REFERENCES resources(local_id),
    medication_id TEXT NOT NULL REFERENCES resources(local_id),
    encounter_id TEXT NOT NULL REFERENCES encounters(local_id),
    kfa_code TEXT NOT NULL,
    display TEXT NOT NULL,
    dosage TEXT NOT NULL,
    quantity REAL NOT NULL CHECK (quantity > 0),
    unit TEXT NOT NULL
);

CREATE INDEX prescriptions_by_encounter ON prescriptions(encounter_id);

CREATE TABLE dispenses (
    local_id TEXT PRIMARY KEY REFERENCES resources(local_id),
    prescription_id TEXT NOT NULL REFERENCES prescriptions(local_id),
    encounter_id TEXT NOT NULL REFERENCES encounters(local_id),
    quantity REAL NOT NULL CHECK (quantity > 0),
    unit TEXT NOT NULL,
    dispensed_at TEXT NOT NULL
);

CREATE INDEX dispenses_by_encounter ON dispenses(encounter_id);

CREATE TABLE lab_orders (
    local_id TEXT PRIMARY KEY REFERENCES resources(local_id),
    encounter_id TEXT NOT NULL REFERENCES encounters(local_id),
    loinc TEXT NOT NULL,
    display TEXT NOT NULL,
    ordered_at TEXT NOT NULL
);

CREATE INDEX lab_orders_by_encounter ON lab_orders(encounter_id);

CREATE TABLE lab_results (
    local_id TEXT PRIMARY KEY REFERENCES resources(local_id),
    order_id TEXT NOT NULL REFERENCES lab_orders(local_id),
    report_id TEXT NOT NULL REFERENCES resources(local_id),
    encounter_id TEXT NOT NULL REFERENCES encounters(local_id),
    value REAL NOT NULL,
    unit TEXT NOT NULL,
    conclusion TEXT,
    resulted_at TEXT NOT NULL
);

CREATE INDEX lab_results_by_encounter ON lab_results(encounter_id);

CREATE TABLE summaries (
    local_id TEXT PRIMARY KEY REFERENCES resources(local_id),
    encounter_id TEXT NOT NULL UNIQUE REFERENCES encounters(local_id),
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    written_at TEXT NOT NULL
);

CREATE TABLE panic_reports (
    emergency_id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    reported_at TEXT NOT NULL,
    latitude REAL NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude REAL NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    address TEXT,
    severity TEXT NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    type TEXT NOT NULL,
    victim_age INTEGER CHECK (victim_age BETWEEN 0 AND 150),
    victim_gender TEXT CHECK (victim_gender IN ('male', 'female')),
    reporter TEXT,
    status TEXT NOT NULL DEFAULT 'reported',
    created_at TEXT NOT NULL
, victim_nik TEXT, volunteer_nik TEXT, referral INTEGER NOT NULL DEFAULT 0, satusehat_note TEXT, eta_minutes INTEGER, ambulance_id TEXT, status_updated_at TEXT);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    lane TEXT NOT NULL CHECK (lane IN ('clinic', 'emergency')),
    lane_rank INTEGER NOT NULL GENERATED ALWAYS AS (CASE lane WHEN 'emergency' THEN 0 ELSE 1 END) VIRTUAL,
    queue TEXT NOT NULL,
    target TEXT NOT NULL CHECK (target IN ('satusehat', 'emergency')),
    operation TEXT NOT NULL CHECK (operation IN ('create', 'update', 'lookup', 'notify')),
    resource_type TEXT,
    resource_id TEXT REFERENCES resources(local_id),
    report_id TEXT REFERENCES panic_reports(emergency_id),
    encounter_id TEXT,
    payload TEXT CHECK (payload IS NULL OR json_valid(payload)),
    priority INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'dead', 'held')),
    unresolved_deps INTEGER NOT NULL DEFAULT 0 CHECK (unresolved_deps >= 0),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_retries INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    completed_at TEXT, group_id TEXT, needs_check INTEGER NOT NULL DEFAULT 0, send_singly INTEGER NOT NULL DEFAULT 0, escalated_at TEXT, patient_id TEXT,
    hold_kind TEXT CHECK (hold_kind IS NULL OR hold_kind IN ('waits_on', 'consent', 'registration')),
    hold_detail TEXT CHECK (hold_detail IS NULL OR hold_detail IN
        ('failed', 'dead', 'held', 'not_given', 'encounter_only', 'not_yet_valid', 'expired', 'revoked')),
    hold_item INTEGER REFERENCES outbox(id), claimed_by TEXT REFERENCES sync_owners(id), lease_until INTEGER, withdrawn INTEGER NOT NULL DEFAULT 0 CHECK (withdrawn = 0 OR status = 'dead'), conflict INTEGER NOT NULL DEFAULT 0 CHECK (conflict = 0 OR status = 'failed'),
    CHECK (resource_id IS NOT NULL OR report_id IS NOT NULL)
);

CREATE INDEX outbox_ready ON outbox(lane_rank, priority, id) WHERE status = 'pending' AND unresolved_deps = 0;

CREATE INDEX outbox_by_lane_status ON outbox(lane, status);

CREATE INDEX outbox_by_resource ON outbox(resource_id) WHERE resource_id IS NOT NULL;

CREATE INDEX outbox_by_encounter ON outbox(encounter_id) WHERE encounter_id IS NOT NULL;

CREATE TABLE outbox_deps (
    item_id INTEGER NOT NULL REFERENCES outbox(id),
    depends_on INTEGER NOT NULL REFERENCES outbox(id),
    PRIMARY KEY (item_id, depends_on),
    CHECK (item_id <> depends_on)
) WITHOUT ROWID;

CREATE INDEX outbox_deps_reverse ON outbox_deps(depends_on, item_id);

-- A group's pending items (claiming), a patient's held items (consent given): each index
-- holds only the items its query asks for, so a status change on the way out touches neither.
CREATE INDEX outbox_pending_by_group ON outbox(group_id) WHERE status = 'pending' AND group_id IS NOT NULL;

CREATE TABLE sync_log (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES outbox(id),
    attempt INTEGER NOT NULL,
    method TEXT NOT NULL,
    url TEXT NOT NULL,
    status INTEGER,
    duration_ms INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT,
    created_at TEXT NOT NULL
);

CREATE INDEX sync_log_by_item ON sync_log(item_id);

CREATE INDEX outbox_held_by_patient ON outbox(patient_id) WHERE status = 'held' AND patient_id IS NOT NULL;

CREATE TABLE error_log (
    id INTEGER PRIMARY KEY,
    item_id INTEGER REFERENCES outbox(id),
    resource_type TEXT,
    resource_id TEXT,
    operation TEXT,
    category TEXT NOT NULL
        CHECK (category IN ('transient', 'auth', 'client', 'not_found', 'server', 'duplicate', 'unknown')),
    http_status INTEGER,
    message TEXT NOT NULL,
    request_url TEXT,
    request_id TEXT,
    resolution_status TEXT NOT NULL DEFAULT 'pending'
        CHECK (resolution_status IN ('pending', 'auto_resolved', 'manual_resolved', 'ignored')),
    resolution_notes TEXT,
    resolved_at TEXT,
    created_at TEXT NOT NULL
);

CREATE INDEX error_log_by_item ON error_log(item_id, resolution_status);

CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    item_id INTEGER REFERENCES outbox(id),
    message TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE health_checks (
    id INTEGER PRIMARY KEY,
    endpoint TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('healthy', 'degraded', 'unhealthy')),
    response_ms INTEGER,
    http_status INTEGER,
    error TEXT,
    checked_at TEXT NOT NULL
);

CREATE INDEX health_checks_by_endpoint ON health_checks(endpoint, id);

CREATE TABLE emergency_updates (
    id INTEGER PRIMARY KEY,
    emergency_id TEXT NOT NULL REFERENCES panic_reports(emergency_id),
    event_type TEXT NOT NULL,
    status TEXT,
    eta_minutes INTEGER,
    ambulance_id TEXT,
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    received_at TEXT NOT NULL
);

CREATE INDEX emergency_updates_by_report ON emergency_updates(emergency_id, id);

CREATE INDEX outbox_by_hold ON outbox(hold_item) WHERE hold_item IS NOT NULL;

CREATE TABLE sync_owners (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    process_start INTEGER,
    started_at TEXT NOT NULL
);

CREATE INDEX outbox_claims ON outbox(claimed_by) WHERE status = 'processing';

CREATE TABLE practitioner_roles (
    local_id TEXT PRIMARY KEY REFERENCES resources(local_id),
    practitioner_id TEXT NOT NULL REFERENCES practitioners(local_id),
    location_id TEXT NOT NULL REFERENCES locations(local_id),
    created_at TEXT NOT NULL,
    UNIQUE (practitioner_id, location_id)
);

CREATE TABLE registry_sources (
    source TEXT PRIMARY KEY CHECK (source IN ('kki', 'sisdmk')),
    base_url TEXT NOT NULL,
    auth_url TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret_file TEXT NOT NULL,
    schedule TEXT NOT NULL CHECK (schedule IN ('daily', 'hourly', 'off')),
    updated_at TEXT NOT NULL
);

CREATE TABLE registry_entries (
    id INTEGER PRIMARY KEY,
    str_number TEXT,
    nik TEXT NOT NULL,
    name TEXT NOT NULL,
    birth_place TEXT NOT NULL,
    birth_date TEXT,
    profession TEXT,
    str_status TEXT CHECK (str_status IS NULL OR str_status IN ('active', 'inactive', 'revoked')),
    str_valid_until TEXT,
    facility_code TEXT,
    facility_name TEXT,
    match_name TEXT NOT NULL,
    match_place TEXT NOT NULL,
    sources TEXT NOT NULL,
    source_updated_at TEXT NOT NULL,
    pulled_at TEXT NOT NULL
);
CREATE INDEX registry_by_str ON registry_entries(str_number) WHERE str_number IS NOT NULL;
CREATE INDEX registry_by_person ON registry_entries(nik, match_name, match_place);

CREATE TABLE registry_vouches (
    source TEXT NOT NULL CHECK (source IN ('kki', 'sisdmk')),
    source_key TEXT NOT NULL,
    entry_id INTEGER NOT NULL REFERENCES registry_entries(id),
    data TEXT NOT NULL CHECK (json_valid(data)),
    source_updated_at TEXT NOT NULL,
    PRIMARY KEY (source, source_key)
) WITHOUT ROWID;
CREATE INDEX registry_vouches_by_entry ON registry_vouches(entry_id);

CREATE TABLE pull_checkpoints (
    source TEXT PRIMARY KEY CHECK (source IN ('kki', 'sisdmk')),
    open_trace_id TEXT,
    since TEXT,
    cursor TEXT,
    page INTEGER,
    high_water TEXT,
    watermark TEXT
);

CREATE TABLE pull_batches (
    trace_id TEXT PRIMARY KEY,
    source TEXT NOT NULL CHECK (source IN ('kki', 'sisdmk')),
    full_pull INTEGER NOT NULL,
    since TEXT,
    resumes TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'stopped')),
    reason TEXT CHECK (reason IS NULL OR reason IN ('unreachable', 'auth_refused', 'malformed_page', 'superseded', 'cancelled')),
    detail TEXT,
    pages INTEGER NOT NULL DEFAULT 0,
    fetched INTEGER NOT NULL DEFAULT 0,
    inserted INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    alert INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    duration_ms INTEGER
);
CREATE INDEX pull_batches_by_source ON pull_batches(source, started_at);

CREATE TABLE pull_rejections (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    trace_id TEXT NOT NULL REFERENCES pull_batches(trace_id),
    row_key TEXT NOT NULL,
    field TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX pull_rejections_by_batch ON pull_rejections(trace_id);

CREATE TABLE resource_history (
    id INTEGER PRIMARY KEY,
    local_id TEXT NOT NULL REFERENCES resources(local_id),
    json TEXT NOT NULL CHECK (json_valid(json)),
    change TEXT NOT NULL CHECK (change IN ('cancelled', 'amended', 'server_kept')),
    reason TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    on_server INTEGER CHECK (on_server IN (0, 1)),
    base_version TEXT,
    changed_by TEXT
);
CREATE INDEX resource_history_by_resource ON resource_history(local_id, id);

CREATE TABLE version_conflicts (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES outbox(id),
    local_id TEXT NOT NULL REFERENCES resources(local_id),
    based_on TEXT,
    server_version TEXT,
    local_json TEXT NOT NULL CHECK (json_valid(local_json)),
    server_json TEXT NOT NULL CHECK (json_valid(server_json)),
    detected_at TEXT NOT NULL,
    kept TEXT CHECK (kept IS NULL OR kept IN ('local', 'server')),
    resolved_at TEXT,
    resolved_by TEXT,
    CHECK ((kept IS NULL) = (resolved_at IS NULL))
);
CREATE UNIQUE INDEX version_conflicts_open ON version_conflicts(item_id) WHERE resolved_at IS NULL;

CREATE TABLE outbox_counts (
    lane TEXT NOT NULL,
    status TEXT NOT NULL,
    n INTEGER NOT NULL CHECK (n >= 0),
    PRIMARY KEY (lane, status)
) WITHOUT ROWID;

CREATE TRIGGER outbox_counts_insert AFTER INSERT ON outbox BEGIN
    UPDATE outbox_counts SET n = n + 1 WHERE lane = NEW.lane AND status = CASE WHEN NEW.withdrawn = 1 THEN 'withdrawn' WHEN NEW.conflict = 1 THEN 'conflict' ELSE NEW.status END;
END;
CREATE TRIGGER outbox_counts_update AFTER UPDATE OF status, withdrawn, conflict, lane ON outbox
WHEN OLD.lane IS NOT NEW.lane OR (CASE WHEN OLD.withdrawn = 1 THEN 'withdrawn' WHEN OLD.conflict = 1 THEN 'conflict' ELSE OLD.status END) IS NOT (CASE WHEN NEW.withdrawn = 1 THEN 'withdrawn' WHEN NEW.conflict = 1 THEN 'conflict' ELSE NEW.status END) BEGIN
    UPDATE outbox_counts SET n = n - 1 WHERE lane = OLD.lane AND status = CASE WHEN OLD.withdrawn = 1 THEN 'withdrawn' WHEN OLD.conflict = 1 THEN 'conflict' ELSE OLD.status END;
    UPDATE outbox_counts SET n = n + 1 WHERE lane = NEW.lane AND status = CASE WHEN NEW.withdrawn = 1 THEN 'withdrawn' WHEN NEW.conflict = 1 THEN 'conflict' ELSE NEW.status END;
END;
CREATE TRIGGER outbox_counts_delete AFTER DELETE ON outbox BEGIN
    UPDATE outbox_counts SET n = n - 1 WHERE lane = OLD.lane AND status = CASE WHEN OLD.withdrawn = 1 THEN 'withdrawn' WHEN OLD.conflict = 1 THEN 'conflict' ELSE OLD.status END;
END;

CREATE INDEX outbox_escalated ON outbox(escalated_at) WHERE escalated_at IS NOT NULL AND status <> 'completed';
CREATE INDEX outbox_in_order ON outbox(lane_rank, priority, id);

-- The report page and the status stream (migration 12): requests, the last success per
-- destination and the queue per hour, maintained; an index of withdrawn items for progress.
CREATE TABLE sync_requests (
    id INTEGER PRIMARY KEY,
    request_id TEXT,
    target TEXT NOT NULL CHECK (target IN ('satusehat', 'emergency')),
    method TEXT NOT NULL,
    url TEXT NOT NULL,
    status INTEGER,
    duration_ms INTEGER NOT NULL,
    items INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX sync_requests_by_time ON sync_requests(created_at);
CREATE TABLE last_success (
    target TEXT PRIMARY KEY CHECK (target IN ('satusehat', 'emergency')),
    at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE outbox_hours (
    hour TEXT PRIMARY KEY,
    recorded INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    stopped INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TRIGGER outbox_hours_insert AFTER INSERT ON outbox WHEN NEW.withdrawn = 0 BEGIN
    INSERT INTO outbox_hours(hour, recorded) VALUES (substr(NEW.created_at, 1, 13), 1) ON CONFLICT(hour) DO UPDATE SET recorded = recorded + 1;
    INSERT INTO outbox_hours(hour, delivered) SELECT substr(coalesce(NEW.completed_at, NEW.updated_at), 1, 13), 1 WHERE NEW.status = 'completed'
        ON CONFLICT(hour) DO UPDATE SET delivered = delivered + 1;
    INSERT INTO outbox_hours(hour, stopped) SELECT substr(NEW.updated_at, 1, 13), 1 WHERE NEW.status IN ('failed', 'held', 'dead')
        ON CONFLICT(hour) DO UPDATE SET stopped = stopped + 1;
END;
CREATE TRIGGER outbox_hours_delivered AFTER UPDATE OF completed_at, withdrawn ON outbox
WHEN NEW.status = 'completed' AND NEW.withdrawn = 0 AND NOT (OLD.status = 'completed' AND OLD.withdrawn = 0) BEGIN
    INSERT INTO outbox_hours(hour, delivered) VALUES (substr(coalesce(NEW.completed_at, NEW.updated_at), 1, 13), 1)
        ON CONFLICT(hour) DO UPDATE SET delivered = delivered + 1;
END;
CREATE TRIGGER outbox_hours_undelivered AFTER UPDATE OF completed_at, withdrawn ON outbox
WHEN OLD.status = 'completed' AND OLD.withdrawn = 0 AND NOT (NEW.status = 'completed' AND NEW.withdrawn = 0) BEGIN
    UPDATE outbox_hours SET delivered = delivered - 1 WHERE hour = substr(coalesce(OLD.completed_at, OLD.updated_at), 1, 13);
END;
CREATE TRIGGER outbox_hours_stopped AFTER UPDATE OF status, updated_at, withdrawn ON outbox
WHEN (OLD.status IN ('failed', 'held', 'dead') AND OLD.withdrawn = 0) OR (NEW.status IN ('failed', 'held', 'dead') AND NEW.withdrawn = 0) BEGIN
    UPDATE outbox_hours SET stopped = stopped - 1 WHERE OLD.status IN ('failed', 'held', 'dead') AND OLD.withdrawn = 0 AND hour = substr(OLD.updated_at, 1, 13);
    INSERT INTO outbox_hours(hour, stopped) SELECT substr(NEW.updated_at, 1, 13), 1 WHERE NEW.status IN ('failed', 'held', 'dead') AND NEW.withdrawn = 0
        ON CONFLICT(hour) DO UPDATE SET stopped = stopped + 1;
END;
CREATE TRIGGER outbox_hours_withdrawn AFTER UPDATE OF withdrawn ON outbox WHEN OLD.withdrawn <> NEW.withdrawn BEGIN
    INSERT INTO outbox_hours(hour, recorded) VALUES (substr(NEW.created_at, 1, 13), CASE WHEN NEW.withdrawn = 0 THEN 1 ELSE -1 END)
        ON CONFLICT(hour) DO UPDATE SET recorded = recorded + excluded.recorded;
END;
CREATE INDEX outbox_withdrawn ON outbox(resource_id) WHERE withdrawn = 1;
CREATE INDEX error_log_open ON error_log(id) WHERE resolution_status = 'pending';
