# workerd config: the bundled worker (worker.js, made by `npm run edge:build -- <checkpoint folder>`), the
# single-thread kernel build bound as a wasm module, and a checkpoint as text/data modules. `npm run edge`
# serves it on 127.0.0.1:8787 (override with `npm run edge -- --socket-addr http=127.0.0.1:<port>`).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "out/worker.js"),
    (name = "simdformer.wasm", wasm = embed "out/simdformer.wasm"),
    (name = "config.json", text = embed "out/checkpoint/config.json"),
    (name = "tokenizer.json", text = embed "out/checkpoint/tokenizer.json"),
    (name = "model.safetensors", data = embed "out/checkpoint/model.safetensors"),
  ],
  compatibilityDate = "2024-09-23",
);
