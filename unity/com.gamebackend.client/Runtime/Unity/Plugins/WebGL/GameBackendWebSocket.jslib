// The browser's WebSocket for GameBackend.Unity.BrowserWebSocket (WebGL players only).
// Incoming messages wait in a queue that C# drains once a frame; nothing calls into C#.
var GameBackendWebSocket = {
  $GBWS: { sockets: [] },

  GameBackendWs_Open: function (url) {
    var entry = { queue: [], socket: new WebSocket(UTF8ToString(url)) };
    entry.socket.onmessage = function (event) {
      if (typeof event.data === "string") entry.queue.push(event.data);
    };
    GBWS.sockets.push(entry);
    return GBWS.sockets.length - 1;
  },

  GameBackendWs_State: function (id) {
    var entry = GBWS.sockets[id];
    return entry ? entry.socket.readyState : 3;
  },

  GameBackendWs_Next: function (id) {
    var entry = GBWS.sockets[id];
    if (!entry || entry.queue.length === 0) return null;
    var text = entry.queue.shift();
    var size = lengthBytesUTF8(text) + 1;
    var buffer = _malloc(size);
    stringToUTF8(text, buffer, size);
    return buffer;
  },

  GameBackendWs_Send: function (id, text) {
    var entry = GBWS.sockets[id];
    if (entry && entry.socket.readyState === 1) entry.socket.send(UTF8ToString(text));
  },

  GameBackendWs_Close: function (id) {
    var entry = GBWS.sockets[id];
    if (!entry) return;
    if (entry.socket.readyState < 2) entry.socket.close(1000);
    entry.queue = [];
    GBWS.sockets[id] = null;
  },
};

autoAddDeps(GameBackendWebSocket, "$GBWS");
mergeInto(LibraryManager.library, GameBackendWebSocket);
