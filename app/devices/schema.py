"""Tables of the device handoff (issue 17), applied by migration 3.

Why a trigger: a template can disappear through a withdrawal, an erasure (directly or by the
``ON DELETE CASCADE`` from ``people``), the retention purge, or the ``consent_inactive_drops_
templates`` trigger. Any of them must reach every door that was given the template. Hooking the
deletion itself, in SQL, makes that true for every path that exists today and any added later,
and in the same transaction: a withdrawal cannot commit without its revocations.

``device_handed`` is what a device currently holds (one random ``ref`` per template per device,
so a door never sees the vault's row numbers and two doors cannot correlate their entries);
``device_revocations`` only grows, so a revocation list is always complete. ``device_handed`` is
keyed by template first (the trigger's lookup) and has one other index: at 100k templates every
extra B-tree was a second of handoff (``ref`` is 96 random bits, unique without a constraint).

The two ``*_consent`` indexes serve the existing ``consent_inactive_drops_templates`` trigger:
without them every withdrawn or expired consent scans all templates and photos, which made
withdrawing 5,000 consents at 100k templates take minutes (the revocation benchmark).

Once released, ``DEVICES_SQL`` is frozen like any applied migration: changes go in a new one.
"""

from __future__ import annotations

DEVICES_SQL = """
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL COLLATE NOCASE,
    purpose_id INTEGER NOT NULL REFERENCES purposes(id),
    public_key BLOB NOT NULL CHECK (length(public_key) = 32),
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    removed_at TEXT,
    removed_by TEXT,
    bundle_seq INTEGER NOT NULL DEFAULT 0,
    revocation_seq INTEGER NOT NULL DEFAULT 0,
    last_bundle_at TEXT,
    last_revocations_at TEXT,
    revocations_written INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX devices_active_name ON devices(name) WHERE removed_at IS NULL;
CREATE INDEX devices_purpose ON devices(purpose_id);
CREATE TABLE device_handed (
    template_id INTEGER NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices(id),
    ref TEXT NOT NULL,
    person_id TEXT NOT NULL,
    person_ref TEXT NOT NULL,
    consent_id TEXT NOT NULL,
    bundle_seq INTEGER NOT NULL,
    handed_at TEXT NOT NULL,
    PRIMARY KEY (template_id, device_id)
) WITHOUT ROWID;
CREATE INDEX device_handed_device ON device_handed(device_id);
CREATE TABLE device_revocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL REFERENCES devices(id),
    ref TEXT NOT NULL,
    person_ref TEXT NOT NULL,
    consent_id TEXT NOT NULL,
    revoked_at TEXT NOT NULL
);
CREATE INDEX device_revocations_device ON device_revocations(device_id, id);
CREATE TABLE device_person_log (
    device_id TEXT NOT NULL REFERENCES devices(id),
    person_id TEXT NOT NULL,
    event TEXT NOT NULL CHECK (event IN ('handed', 'revoked')),
    bundle_seq INTEGER,
    at TEXT NOT NULL
);
CREATE INDEX device_person_log_person ON device_person_log(person_id);
CREATE INDEX IF NOT EXISTS templates_consent ON templates(consent_id);
CREATE INDEX IF NOT EXISTS photos_consent ON photos(consent_id);
CREATE TRIGGER templates_deleted_revoke AFTER DELETE ON templates
BEGIN
    INSERT INTO device_revocations (device_id, ref, person_ref, consent_id, revoked_at)
        SELECT device_id, ref, person_ref, consent_id,
               strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
        FROM device_handed WHERE template_id = OLD.id;
    INSERT INTO device_person_log (device_id, person_id, event, bundle_seq, at)
        SELECT DISTINCT h.device_id, h.person_id, 'revoked', NULL,
               strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
        FROM device_handed h WHERE h.template_id = OLD.id
        AND NOT EXISTS (SELECT 1 FROM device_person_log l WHERE l.device_id = h.device_id
            AND l.person_id = h.person_id AND l.event = 'revoked'
            AND l.at = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'));
    DELETE FROM device_handed WHERE template_id = OLD.id;
END;
CREATE TRIGGER people_deleted_forget_device_log AFTER DELETE ON people
BEGIN
    DELETE FROM device_person_log WHERE person_id = OLD.id;
END;
"""


# Migration 9 (issue 17): the devices a purpose version's disclosure names. A device joins or
# leaves a purpose through a new purpose version whose rows here are a snapshot (name, where it
# stands, the revocation delay promised), so the disclosure of a version renders the same words
# forever, whatever happens to the devices afterwards. Existing devices are written into each
# purpose's newest version, so the text people read from now on names them.
DEVICES_V9_SQL = """
ALTER TABLE devices ADD COLUMN location TEXT NOT NULL DEFAULT '';
CREATE TABLE purpose_version_devices (
    purpose_version_id INTEGER NOT NULL REFERENCES purpose_versions(id),
    device_id TEXT NOT NULL REFERENCES devices(id),
    name TEXT NOT NULL,
    location TEXT NOT NULL DEFAULT '',
    revocation_hours INTEGER NOT NULL CHECK (revocation_hours > 0),
    PRIMARY KEY (purpose_version_id, device_id)
) WITHOUT ROWID;
INSERT INTO purpose_version_devices (purpose_version_id, device_id, name, location,
        revocation_hours)
    SELECT v.id, d.id, d.name, '', 24 FROM devices d
    JOIN purpose_versions v ON v.purpose_id = d.purpose_id
    WHERE d.removed_at IS NULL
    AND v.version = (SELECT max(version) FROM purpose_versions w WHERE w.purpose_id = v.purpose_id);
"""
