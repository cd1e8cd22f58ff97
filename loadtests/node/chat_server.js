// The reference of loadtests/bench_chat.py: a minimal socket.io room-broadcast chat server.
//
// It speaks the same events as TeezU's chat (chat:join / chat:send, acknowledged) and does the
// least a chat server can: join a room, stamp a message and broadcast it to the room, one
// packet per message (socket.io's own io.to(room).emit). No persistence, no auth, no limits.
//
//   node loadtests/node/chat_server.js PORT
"use strict";

const crypto = require("node:crypto");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 3000);
const io = new Server(port, { serveClient: false, transports: ["websocket", "polling"] });

io.on("connection", (socket) => {
  socket.on("chat:join", (data, ack) => {
    if (!data || typeof data.streamId !== "string") return ack && ack({ ok: false, code: "VALIDATION_ERROR" });
    socket.join("stream:" + data.streamId);
    if (ack) ack({ ok: true, streamId: data.streamId });
  });
  socket.on("chat:send", (data, ack) => {
    const text = data && typeof data.text === "string" ? data.text.trim() : "";
    if (!text || text.length > 500 || typeof data.streamId !== "string") {
      return ack && ack({ ok: false, code: "VALIDATION_ERROR" });
    }
    const message = {
      id: crypto.randomUUID(),
      streamId: data.streamId,
      user: { id: socket.id, handle: "user" },
      text,
      sentAt: new Date().toISOString(),
    };
    io.to("stream:" + data.streamId).emit("chat:message", message);
    if (ack) ack({ ok: true, message });
  });
});

console.log(`ready ${port}`);
