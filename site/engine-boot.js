// Starts the engine worker while the page is still being parsed (a classic async script in
// <head>), instead of after the calculator's module graph has loaded: the worker's runtime
// download and compile then overlap the page's own start-up. Messages that arrive before the
// EngineClient adopts the worker are kept and replayed, so none is lost.
(() => {
  const script = document.currentScript;
  if (!script || typeof Worker === "undefined") return;
  try {
    const worker = new Worker(script.dataset.worker, { type: "module", name: "engine" });
    const early = [];
    let failure = null;
    worker.onmessage = (event) => early.push(event.data);
    worker.onerror = (event) => {
      failure = event.message || "the engine worker failed to start";
    };
    window.__vramEngineBoot = {
      url: script.dataset.worker,
      /** Hand the worker to its owner once; later calls get null (a restart makes a new one). */
      take() {
        window.__vramEngineBoot = undefined;
        return { worker, early, failure };
      },
    };
  } catch (err) {
    console.warn("engine worker not started early:", err.message); // the client starts it
  }
})();
