-- Grain state storage for Microsoft.Orleans.Persistence.AdoNet on PostgreSQL.
-- Written against the provider's contract (see docs/architecture.md#grain-state):
-- it reads WriteToStorageKey, ReadFromStorageKey and ClearStorageKey from OrleansQuery
-- once at silo start and calls them with @GrainIdHash, @GrainIdN0, @GrainIdN1,
-- @GrainTypeHash, @GrainTypeString (the state name), @GrainIdExtensionString,
-- @ServiceId, @GrainStateVersion and @PayloadBinary.
-- Differences from the provider's reference script, on purpose:
--  * a unique key on the grain's identity, so a brief duplicate activation cannot insert
--    a second row (after which every read would throw); inserts use ON CONFLICT;
--  * the key extension is stored as '' rather than NULL so the key stays a plain btree key;
--  * the 32-bit version wraps to 1 instead of overflowing (it only has to change).

CREATE TABLE orleansquery (
    querykey   varchar(64) PRIMARY KEY,
    querytext  text NOT NULL
);

CREATE TABLE orleansstorage (
    serviceid               varchar(150) NOT NULL,
    graintypestring         varchar(512) NOT NULL,
    grainidn0               bigint NOT NULL,
    grainidn1               bigint NOT NULL,
    grainidextensionstring  varchar(512) NOT NULL DEFAULT '',
    grainidhash             integer NOT NULL,
    graintypehash           integer NOT NULL,
    payloadbinary           bytea,
    modifiedon              timestamptz NOT NULL DEFAULT now(),
    version                 integer NOT NULL,
    PRIMARY KEY (serviceid, graintypestring, grainidn0, grainidn1, grainidextensionstring)
);

INSERT INTO orleansquery (querykey, querytext) VALUES
('ReadFromStorageKey', '
SELECT payloadbinary AS "PayloadBinary", version AS "Version"
FROM orleansstorage
WHERE serviceid = @ServiceId
  AND graintypestring = @GrainTypeString
  AND grainidn0 = @GrainIdN0
  AND grainidn1 = @GrainIdN1
  AND grainidextensionstring = COALESCE(CAST(@GrainIdExtensionString AS varchar), '''')
'),
('WriteToStorageKey', '
WITH inserted AS (
    INSERT INTO orleansstorage (serviceid, graintypestring, grainidn0, grainidn1, grainidextensionstring,
                                grainidhash, graintypehash, payloadbinary, modifiedon, version)
    SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1,
           COALESCE(CAST(@GrainIdExtensionString AS varchar), ''''),
           @GrainIdHash, @GrainTypeHash, @PayloadBinary, now(), 1
    WHERE CAST(@GrainStateVersion AS integer) IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version
), updated AS (
    UPDATE orleansstorage
    SET payloadbinary = @PayloadBinary,
        modifiedon = now(),
        version = CASE WHEN version = 2147483647 THEN 1 ELSE version + 1 END
    WHERE CAST(@GrainStateVersion AS integer) IS NOT NULL
      AND serviceid = @ServiceId
      AND graintypestring = @GrainTypeString
      AND grainidn0 = @GrainIdN0
      AND grainidn1 = @GrainIdN1
      AND grainidextensionstring = COALESCE(CAST(@GrainIdExtensionString AS varchar), '''')
      AND version = CAST(@GrainStateVersion AS integer)
    RETURNING version
)
SELECT (SELECT version FROM inserted UNION ALL SELECT version FROM updated LIMIT 1) AS "NewGrainStateVersion"
'),
('ClearStorageKey', '
UPDATE orleansstorage
SET payloadbinary = NULL,
    modifiedon = now(),
    version = CASE WHEN version = 2147483647 THEN 1 ELSE version + 1 END
WHERE serviceid = @ServiceId
  AND graintypestring = @GrainTypeString
  AND grainidn0 = @GrainIdN0
  AND grainidn1 = @GrainIdN1
  AND grainidextensionstring = COALESCE(CAST(@GrainIdExtensionString AS varchar), '''')
  AND version = CAST(@GrainStateVersion AS integer)
RETURNING version AS "NewGrainStateVersion"
');
