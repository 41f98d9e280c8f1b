-- 0005: a room's last seq is its log's highest (room_events' key finds it in one seek), so
-- rooms.last_seq, which every batch rewrote for each room it touched, goes: one row write less
-- per message when messages spread over rooms.
ALTER TABLE rooms DROP COLUMN last_seq;
