import SehatStore

/// The SDK's SQLite schema as versioned migrations. `Schemas/store.sql` is the schema these
/// produce, and a test keeps the two equal. Never edit a shipped migration: add one.
enum StoreSchema {
    static let migrator = Migrator([
        Migration(version: 1, name: "records and outbox", sql: version1),
        Migration(version: 2, name: "sync engine: groups, unknown outcomes, sync log", sql: version2),
        Migration(version: 3, name: "resilience: error log, escalation, consent gate, health, settings", sql: version3),
        Migration(version: 4, name: "emergency lane: SATUSEHAT mapping, status from PSC 119", sql: version4),
        Migration(version: 5, name: "one owner for the outbox: typed holds, claims with an owner and a lease", sql: version5),
        Migration(version: 6, name: "practitioner roles: who serves at which polyclinic", sql: version6),
        Migration(version: 7, name: "inbound: the workforce registry, its sources, pulls and their audit", sql: version7),
        Migration(version: 8, name: "corrections: the history of changed resources, cancelled encounters", sql: version8),
        Migration(version: 9, name: "versions: the server's version of each resource, conflicts kept for a person", sql: version9),
        Migration(version: 10, name: "scale: maintained outbox counts, indexes for escalations and the send order", sql: version10),
        Migration(version: 11, name: "speed: the group and patient indexes hold only the items their queries ask for", sql: version11),
        Migration(version: 12, name: "the report: requests, the last success per destination and the queue per hour, maintained; indexes for progress per type", sql: version12),
    ])

    static let version1 = """
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
        );

        CREATE TABLE resources (
            local_id TEXT PRIMARY KEY,
            resource_type TEXT NOT NULL,
            identifier_system TEXT NOT NULL,
            identifier_value TEXT NOT NULL,
            json TEXT NOT NULL CHECK (json_valid(json)),
            server_id TEXT,
            encounter_id TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
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
        );
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
        );

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
            held_reason TEXT,
            last_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            completed_at TEXT,
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
        """

    /// Groups beyond encounters (an imported bundle), what the engine must check before it
    /// re-sends, the single-request fallback, and one row per HTTP attempt per item.
    static let version2 = """
        ALTER TABLE outbox ADD COLUMN group_id TEXT;
        UPDATE outbox SET group_id = encounter_id;
        CREATE INDEX outbox_by_group ON outbox(group_id, status) WHERE group_id IS NOT NULL;
        ALTER TABLE outbox ADD COLUMN needs_check INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE outbox ADD COLUMN send_singly INTEGER NOT NULL DEFAULT 0;

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
        """

    /// What surviving the field needs: the error log with resolution states, escalation,
    /// the patient each item belongs to (for the consent gate), alerts for people, health
    /// checks, and the sync settings and simulated link kept with the device's configuration.
    static let version3 = """
        ALTER TABLE outbox ADD COLUMN escalated_at TEXT;
        ALTER TABLE outbox ADD COLUMN patient_id TEXT;
        UPDATE outbox SET patient_id = (SELECT patient_id FROM encounters WHERE encounters.local_id = outbox.encounter_id)
            WHERE encounter_id IS NOT NULL;
        UPDATE outbox SET patient_id = resource_id WHERE resource_id IN (SELECT local_id FROM patients);
        CREATE INDEX outbox_by_patient ON outbox(patient_id, status) WHERE patient_id IS NOT NULL;

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

        ALTER TABLE config ADD COLUMN sync_settings TEXT CHECK (sync_settings IS NULL OR json_valid(sync_settings));
        ALTER TABLE config ADD COLUMN link_state TEXT CHECK (link_state IS NULL OR json_valid(link_state));
        """

    /// The emergency's people and referral, why it stayed local when it did, and what the
    /// emergency service reports back (dispatch, ETA, closure).
    static let version4 = """
        ALTER TABLE panic_reports ADD COLUMN victim_nik TEXT;
        ALTER TABLE panic_reports ADD COLUMN volunteer_nik TEXT;
        ALTER TABLE panic_reports ADD COLUMN referral INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE panic_reports ADD COLUMN satusehat_note TEXT;
        ALTER TABLE panic_reports ADD COLUMN eta_minutes INTEGER;
        ALTER TABLE panic_reports ADD COLUMN ambulance_id TEXT;
        ALTER TABLE panic_reports ADD COLUMN status_updated_at TEXT;

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
        """

    /// Why an item is held becomes typed columns (kind, detail, the item it waits on) instead
    /// of a sentence; claims record their owner (an engine of a process) and a lease, so only
    /// a gone owner's items are taken back. The one-time conversion below is the only place
    /// the old sentences are ever read.
    static let version5 = """
        ALTER TABLE outbox ADD COLUMN hold_kind TEXT CHECK (hold_kind IS NULL OR hold_kind IN ('waits_on', 'consent', 'registration'));
        ALTER TABLE outbox ADD COLUMN hold_detail TEXT CHECK (hold_detail IS NULL OR hold_detail IN
            ('failed', 'dead', 'held', 'not_given', 'encounter_only', 'not_yet_valid', 'expired', 'revoked'));
        ALTER TABLE outbox ADD COLUMN hold_item INTEGER REFERENCES outbox(id);
        UPDATE outbox SET
            hold_kind = CASE WHEN held_reason LIKE 'consent:%' THEN 'consent'
                             WHEN held_reason LIKE 'registration required%' THEN 'registration' ELSE 'waits_on' END,
            hold_item = CASE WHEN held_reason LIKE 'waits on item %' THEN CAST(substr(held_reason, 15) AS INTEGER) END,
            hold_detail = CASE WHEN held_reason LIKE 'consent:%' THEN
                                   CASE WHEN held_reason LIKE '%revoked consent%' THEN 'revoked'
                                        WHEN held_reason LIKE '%valid only from%' THEN 'not_yet_valid'
                                        WHEN held_reason LIKE '%expired at%' THEN 'expired'
                                        WHEN held_reason LIKE '%encounter data only%' THEN 'encounter_only' ELSE 'not_given' END
                               WHEN held_reason LIKE 'waits on item %' THEN
                                   CASE WHEN held_reason LIKE '%), dead:%' THEN 'dead' WHEN held_reason LIKE '%), held:%' THEN 'held' ELSE 'failed' END
                          END
        WHERE status = 'held';
        ALTER TABLE outbox DROP COLUMN held_reason;
        CREATE INDEX outbox_by_hold ON outbox(hold_item) WHERE hold_item IS NOT NULL;

        CREATE TABLE sync_owners (
            id TEXT PRIMARY KEY,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            process_start INTEGER,
            started_at TEXT NOT NULL
        );
        ALTER TABLE outbox ADD COLUMN claimed_by TEXT REFERENCES sync_owners(id);
        ALTER TABLE outbox ADD COLUMN lease_until INTEGER;
        CREATE INDEX outbox_claims ON outbox(claimed_by) WHERE status = 'processing';
        """

    /// Which practitioner serves at which polyclinic (a SATUSEHAT PractitionerRole each).
    static let version6 = """
        CREATE TABLE practitioner_roles (
            local_id TEXT PRIMARY KEY REFERENCES resources(local_id),
            practitioner_id TEXT NOT NULL REFERENCES practitioners(local_id),
            location_id TEXT NOT NULL REFERENCES locations(local_id),
            created_at TEXT NOT NULL,
            UNIQUE (practitioner_id, location_id)
        );
        """

    static let version7 = """
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

        ALTER TABLE config ADD COLUMN str_check TEXT NOT NULL DEFAULT 'warn' CHECK (str_check IN ('warn', 'refuse', 'off'));
        ALTER TABLE encounters ADD COLUMN str_warning TEXT;
        """

    static let version8 = """
        CREATE TABLE resource_history (
            id INTEGER PRIMARY KEY,
            local_id TEXT NOT NULL REFERENCES resources(local_id),
            json TEXT NOT NULL CHECK (json_valid(json)),
            change TEXT NOT NULL CHECK (change IN ('cancelled', 'amended')),
            reason TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        );
        CREATE INDEX resource_history_by_resource ON resource_history(local_id, id);

        ALTER TABLE encounters ADD COLUMN cancelled_at TEXT;
        ALTER TABLE encounters ADD COLUMN cancel_reason TEXT;
        ALTER TABLE outbox ADD COLUMN withdrawn INTEGER NOT NULL DEFAULT 0 CHECK (withdrawn = 0 OR status = 'dead');
        """

    /// The server's version of each resource (sent back in `If-Match`), version conflicts with
    /// both versions kept until a person chooses, and what each recorded change was based on
    /// and who made it.
    /// `resource_history` is rebuilt to take the new kind of change (`server_kept`: a person
    /// kept the server's version over the local one).
    static let version9 = """
        ALTER TABLE resources ADD COLUMN server_version TEXT;
        ALTER TABLE outbox ADD COLUMN conflict INTEGER NOT NULL DEFAULT 0 CHECK (conflict = 0 OR status = 'failed');

        ALTER TABLE resource_history RENAME TO resource_history_v8;
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
        INSERT INTO resource_history(id, local_id, json, change, reason, recorded_at)
            SELECT id, local_id, json, change, reason, recorded_at FROM resource_history_v8;
        DROP TABLE resource_history_v8;
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
        """

    /// A million queued items is normal: what a screen reads is maintained, not counted.
    /// `outbox_counts` holds every lane × public status (withdrawn and conflict are flags on
    /// dead and failed), kept by triggers on `outbox` in the same transaction as the change;
    /// the escalated items and the outbox in send order get indexes of their own.
    static let version10 = """
        CREATE TABLE outbox_counts (
            lane TEXT NOT NULL,
            status TEXT NOT NULL,
            n INTEGER NOT NULL CHECK (n >= 0),
            PRIMARY KEY (lane, status)
        ) WITHOUT ROWID;
        INSERT INTO outbox_counts(lane, status, n)
            WITH lanes(lane) AS (VALUES ('emergency'), ('clinic')),
                 statuses(status) AS (VALUES ('pending'), ('processing'), ('completed'), ('failed'), ('dead'), ('held'), ('withdrawn'), ('conflict'))
            SELECT lane, status, 0 FROM lanes, statuses;
        UPDATE outbox_counts SET n = (
            SELECT count(*) FROM outbox o WHERE o.lane = outbox_counts.lane
               AND (CASE WHEN o.withdrawn = 1 THEN 'withdrawn' WHEN o.conflict = 1 THEN 'conflict' ELSE o.status END) = outbox_counts.status);

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
        """

    /// Every item changes status twice on its way out (claimed, then completed), and every
    /// index that holds `status` pays for each change. The two queries that look items up by
    /// group or patient ask for one status only — a group's pending items (claiming), a
    /// patient's held items (consent given) — so their indexes hold only those items, and an
    /// item passing from pending to processing to completed touches neither after it is claimed.
    static let version11 = """
        DROP INDEX outbox_by_group;
        CREATE INDEX outbox_pending_by_group ON outbox(group_id) WHERE status = 'pending' AND group_id IS NOT NULL;
        DROP INDEX outbox_by_patient;
        CREATE INDEX outbox_held_by_patient ON outbox(patient_id) WHERE status = 'held' AND patient_id IS NOT NULL;
        """

    /// What the report page and the status stream read, maintained as things happen rather
    /// than counted from a million rows (each count took a second or more at a million items):
    /// - `sync_requests`: one row per HTTP request (a packed bundle's 500 items are one), written
    ///   with the sync log; an attempt never sent (an open circuit) has no request id.
    /// - `last_success`: the newest 2xx answer per destination.
    /// - `outbox_hours`: per hour (UTC), items recorded, delivered, and stopped for a person
    ///   (failed, held or dead, by the hour they stopped), kept by triggers on `outbox`.
    /// - progress per resource type is counted when read, through two partial indexes (the
    ///   items not yet delivered, the withdrawn ones).
    /// Withdrawn items count nowhere.
    static let version12 = """
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
        INSERT INTO sync_requests(request_id, target, method, url, status, duration_ms, items, created_at)
            SELECT nullif(min(s.request_id), '-'), min(o.target), min(s.method), min(s.url), max(s.status), max(s.duration_ms), count(*), min(s.created_at)
            FROM sync_log s JOIN outbox o ON o.id = s.item_id
            GROUP BY CASE WHEN s.request_id = '-' THEN 'unsent ' || s.id ELSE s.request_id END;

        CREATE TABLE last_success (
            target TEXT PRIMARY KEY CHECK (target IN ('satusehat', 'emergency')),
            at TEXT NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO last_success(target, at) SELECT target, max(created_at) FROM sync_requests WHERE status BETWEEN 200 AND 299 GROUP BY target;

        CREATE TABLE outbox_hours (
            hour TEXT PRIMARY KEY,
            recorded INTEGER NOT NULL DEFAULT 0,
            delivered INTEGER NOT NULL DEFAULT 0,
            stopped INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        INSERT INTO outbox_hours(hour, recorded, delivered, stopped)
            SELECT hour, sum(r), sum(d), sum(s) FROM (
                SELECT substr(created_at, 1, 13) AS hour, 1 AS r, 0 AS d, 0 AS s FROM outbox WHERE withdrawn = 0
                UNION ALL SELECT substr(coalesce(completed_at, updated_at), 1, 13), 0, 1, 0 FROM outbox WHERE withdrawn = 0 AND status = 'completed'
                UNION ALL SELECT substr(updated_at, 1, 13), 0, 0, 1 FROM outbox WHERE withdrawn = 0 AND status IN ('failed', 'held', 'dead'))
            GROUP BY hour;
        CREATE TRIGGER outbox_hours_insert AFTER INSERT ON outbox WHEN NEW.withdrawn = 0 BEGIN
            INSERT INTO outbox_hours(hour, recorded) VALUES (substr(NEW.created_at, 1, 13), 1) ON CONFLICT(hour) DO UPDATE SET recorded = recorded + 1;
            INSERT INTO outbox_hours(hour, delivered) SELECT substr(coalesce(NEW.completed_at, NEW.updated_at), 1, 13), 1 WHERE NEW.status = 'completed'
                ON CONFLICT(hour) DO UPDATE SET delivered = delivered + 1;
            INSERT INTO outbox_hours(hour, stopped) SELECT substr(NEW.updated_at, 1, 13), 1 WHERE NEW.status IN ('failed', 'held', 'dead')
                ON CONFLICT(hour) DO UPDATE SET stopped = stopped + 1;
        END;
        -- Delivery sets `completed_at` and reopening clears it, so claiming an item (which sets
        -- neither) does not even test these two.
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

        -- Progress per type is counted when read (maintaining per-resource counters by triggers
        -- cost a sixth of the drain's throughput, an index of the items not yet delivered a
        -- tenth); the withdrawn items, rare, have an index of their own.
        CREATE INDEX outbox_withdrawn ON outbox(resource_id) WHERE withdrawn = 1;

        -- The newest open error, which `status` and every progress line read: only open errors.
        CREATE INDEX error_log_open ON error_log(id) WHERE resolution_status = 'pending';
        """
}
