// The few browser globals that site modules read while they load (paths.js: <html
// data-lang-prefix>; i18n.js: the browser's languages; state.js: no #form-schema in the
// page, form-schema.mjs hands it over), for modules tested under Node.
// Import it first, before any site module: an English page in an English browser.
globalThis.document ??= { documentElement: { dataset: {}, lang: "en" }, getElementById: () => null };
globalThis.navigator ??= { languages: ["en-US"], language: "en-US" };
