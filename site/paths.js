// Links the browser makes stay in the page's language: on an English page the calculator is
// "/?…", on a Chinese one "/zh/?…". The build writes the language's URL prefix into
// <html data-lang-prefix> (sitegen.i18n.LANGUAGES); <html lang> is no guide, since the
// language picker (i18n.js) changes it.
export const LANG_PREFIX = document.documentElement.dataset.langPrefix || "";

/** Return the site path `path` ("/", "/?model=x", "/models/") in this page's language. */
export function localPath(path) {
  return LANG_PREFIX + path;
}
