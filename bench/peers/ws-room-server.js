// The plain node `ws` room server most teams would write first: every message goes to every
// socket in the sender's ?room= (the sender included). Usage: node ws-room-server.js PORT
'use strict';
const { WebSocketServer } = require('ws');
const rooms = new Map();
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[2] || 8090), perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  const room = new URL(req.url, 'http://x').searchParams.get('room') || '';
  if (!rooms.has(room)) rooms.set(room, new Set());
  const members = rooms.get(room).add(ws);
  ws.on('message', (data, isBinary) => { for (const m of members) m.send(data, { binary: isBinary }); });
  ws.on('close', () => { members.delete(ws); if (!members.size) rooms.delete(room); });
});
wss.on('listening', () => console.error(`listening on ${wss.address().port}`));
