-- 0003: unread counts walk the room's event log (its primary key is (room, seq)), so the
-- second (room, seq) index on messages only cost every send one more random page write.
DROP INDEX messages_room_seq;
