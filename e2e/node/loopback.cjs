// Preloaded (node --require) into the npm MCP servers the e2e tests start.
//
// server-everything's streamableHttp mode calls app.listen(PORT) with no
// host, which binds every interface. This makes any listen() that names no
// host bind 127.0.0.1 instead, so test peers stay on loopback; and it
// reports the port actually bound (PORT=0 asks the kernel for a free one)
// on stderr as "AGENTGUARD_E2E_LISTENING <port>" for the Go helper to read.
"use strict";
const net = require("node:net");

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const first = args[0];
  const portOnly =
    typeof first === "number" ||
    (typeof first === "string" && /^\d+$/.test(first));
  if (portOnly && (args.length === 1 || typeof args[1] === "function" || typeof args[1] === "number")) {
    // listen(port[, backlog][, cb]) → listen(port, "127.0.0.1"[, backlog][, cb])
    args.splice(1, 0, "127.0.0.1");
  } else if (first && typeof first === "object" && !first.path && !first.host && !first.fd && !first._handle && !first.handle) {
    args[0] = { ...first, host: "127.0.0.1" };
  }
  this.once("listening", () => {
    const a = this.address();
    if (a && typeof a === "object") {
      process.stderr.write(`AGENTGUARD_E2E_LISTENING ${a.port}\n`);
    }
  });
  return listen.apply(this, args);
};
