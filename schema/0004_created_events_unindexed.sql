-- 0004: a message's own message.created event is found through messages(room, seq), so the
-- msg index of the log keeps only the later events of a message (edits, deletes): one index
-- insert less per send.
DROP INDEX room_events_msg;
CREATE INDEX room_events_msg ON room_events(msg) WHERE msg IS NOT NULL AND type <> 'message.created';
