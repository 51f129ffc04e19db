// The calculator's UI in English, German or Simplified Chinese. A gettext-style strings
// table keyed by the English text (the msgid): on an English page (a /zh/ page is built in
// Chinese, see BUILT) this module swaps every text node, placeholder, title and aria-label whose text is a msgid,
// including the ones the other modules add later (MutationObserver). The choice follows the
// browser's languages until the user picks one, which is remembered. Engine messages
// (errors, assumptions, warnings) come from the engine in the page's language (each request
// carries <html lang>; engine/messages.py, German falls back to English); model and GPU
// names stay as they are.

import { PRESET_STRINGS } from "./i18n-presets.js";
import { LANG_PREFIX } from "./paths.js";

const KEY = "vram-insight.lang";
// A page the build wrote in another language (/zh/…) is in that language already, so its
// static text has no English msgids left to swap: it shows its own language, and picking
// another one opens the English twin (the header's language switch), which translates here.
const BUILT = LANG_PREFIX ? document.documentElement.lang : null;
export const LANGUAGES = { en: "English", de: "Deutsch", "zh-CN": "简体中文" };

// msgid: [German, Chinese]
const STRINGS = {
  // header, navigation
  "Skip to content": ["Zum Inhalt springen", "跳到正文"],
  Calculator: ["Rechner", "计算器"],
  Models: ["Modelle", "模型"],
  GPUs: ["GPUs", "GPU"],
  Methodology: ["Methodik", "计算方法"],
  Accuracy: ["Genauigkeit", "准确度"],
  "A new version is available.": ["Eine neue Version ist verfügbar.", "有新版本可用。"],
  Reload: ["Neu laden", "重新加载"],
  Language: ["Sprache", "语言"],
  // calculator form
  "How much GPU memory does your LLM need?": ["Wie viel GPU-Speicher braucht Ihr LLM?", "你的大语言模型需要多少显存？"],
  Mode: ["Modus", "模式"],
  Inference: ["Inferenz", "推理"],
  Training: ["Training", "训练"],
  "Fine-tuning": ["Feinabstimmung", "微调"],
  Model: ["Modell", "模型"],
  "Search models": ["Modelle suchen", "搜索模型"],
  "Search models…": ["Modelle suchen …", "搜索模型…"],
  "Custom config.json…": ["Eigene config.json …", "自定义 config.json…"],
  "Paste config.json": ["config.json einfügen", "粘贴 config.json"],
  "Open a config.json file…": ["config.json-Datei öffnen …", "打开 config.json 文件…"],
  "or drop it here": ["oder hier ablegen", "或拖放到此处"],
  Weights: ["Gewichte", "权重"],
  "KV cache dtype": ["Datentyp des KV-Caches", "KV 缓存数据类型"],
  "Context (tokens)": ["Kontext (Tokens)", "上下文（token）"],
  "Concurrent sequences": ["Gleichzeitige Sequenzen", "并发序列数"],
  Runtime: ["Laufzeitumgebung", "推理框架"],
  "vLLM memory fraction": ["vLLM-Speicheranteil", "vLLM 显存占比"],
  Method: ["Methode", "方法"],
  LoRA: ["LoRA", "LoRA"],
  "QLoRA (4-bit base)": ["QLoRA (4-Bit-Basis)", "QLoRA（4 位基座）"],
  "Full fine-tuning": ["Vollständige Feinabstimmung", "全参数微调"],
  "Sequence length": ["Sequenzlänge", "序列长度"],
  "Micro-batch per GPU": ["Micro-Batch pro GPU", "每 GPU 微批大小"],
  Precision: ["Genauigkeit (Zahlenformat)", "精度"],
  "Mixed bf16 (fp32 master)": ["Gemischt bf16 (fp32-Master)", "bf16 混合精度（fp32 主权重）"],
  "Pure bf16": ["Reines bf16", "纯 bf16"],
  "Mixed fp16": ["Gemischt fp16", "fp16 混合精度"],
  Optimizer: ["Optimierer", "优化器"],
  "Method default (QLoRA: paged 8-bit AdamW)": ["Standard der Methode (QLoRA: paged 8-Bit-AdamW)", "方法默认（QLoRA：分页 8 位 AdamW）"],
  "Activation recomputation": ["Neuberechnung der Aktivierungen", "激活重计算"],
  "Method default (QLoRA: full)": ["Standard der Methode (QLoRA: vollständig)", "方法默认（QLoRA：完全）"],
  None: ["Keine", "无"],
  Selective: ["Selektiv", "选择性"],
  "Full (gradient checkpointing)": ["Vollständig (Gradient Checkpointing)", "完全（梯度检查点）"],
  "Attention kernel": ["Attention-Kernel", "注意力内核"],
  Eager: ["Eager", "Eager"],
  "ZeRO stage": ["ZeRO-Stufe", "ZeRO 阶段"],
  "3 (FSDP full shard)": ["3 (FSDP, voll verteilt)", "3（FSDP 全分片）"],
  "GPUs in total": ["GPUs insgesamt", "GPU 总数"],
  "CPU offload": ["Auslagerung auf die CPU", "CPU 卸载"],
  "Optimizer states": ["Optimiererzustände", "优化器状态"],
  "Optimizer states and parameters": ["Optimiererzustände und Parameter", "优化器状态和参数"],
  "LoRA rank": ["LoRA-Rang", "LoRA 秩"],
  "LoRA alpha": ["LoRA-Alpha", "LoRA alpha"],
  "Scales the update; no effect on memory.": ["Skaliert das Update; ohne Einfluss auf den Speicher.", "缩放更新量；不影响显存。"],
  "LoRA targets": ["LoRA-Zielmodule", "LoRA 目标模块"],
  GPU: ["GPU", "GPU"],
  "— none —": ["— keine —", "— 无 —"],
  "Tensor parallel": ["Tensor-Parallelität", "张量并行"],
  "Pipeline parallel": ["Pipeline-Parallelität", "流水线并行"],
  // results
  "Memory needed": ["Benötigter Speicher", "所需显存"],
  "Loading the engine… the figures below were computed at build time.": ["Die Engine lädt … die Werte unten wurden beim Erstellen der Seite berechnet.", "正在加载计算引擎……下方数值为构建时预先计算。"],
  Total: ["Gesamt", "总计"],
  total: ["gesamt", "总计"],
  "per GPU": ["pro GPU", "每 GPU"],
  "Memory by component (most-loaded GPU)": ["Speicher nach Bestandteil (am stärksten belastete GPU)", "按组成部分的显存（负载最高的 GPU）"],
  "Adapters (LoRA)": ["Adapter (LoRA)", "适配器（LoRA）"],
  "LoRA adapters": ["LoRA-Adapter", "LoRA 适配器"],
  "KV cache": ["KV-Cache", "KV 缓存"],
  Activations: ["Aktivierungen", "激活值"],
  Logits: ["Logits", "Logits"],
  Gradients: ["Gradienten", "梯度"],
  "Master weights (fp32)": ["Master-Gewichte (fp32)", "主权重（fp32）"],
  "FP32 master weights": ["FP32-Master-Gewichte", "FP32 主权重"],
  "Temporary buffers": ["Temporäre Puffer", "临时缓冲区"],
  Temporaries: ["Temporäre Puffer", "临时缓冲区"],
  "Runtime overhead": ["Laufzeit-Overhead", "运行时开销"],
  Assumptions: ["Annahmen", "假设"],
  Retry: ["Erneut versuchen", "重试"],
  "Link to this calculation": ["Link zu dieser Berechnung", "本次计算的链接"],
  "Copy link": ["Link kopieren", "复制链接"],
  "Share…": ["Teilen …", "分享…"],
  "Export:": ["Export:", "导出："],
  "Print / PDF": ["Drucken / PDF", "打印 / PDF"],
  "Link copied": ["Link kopiert", "链接已复制"],
  "Press Ctrl+C to copy the selected link": ["Strg+C drücken, um den markierten Link zu kopieren", "按 Ctrl+C 复制选中的链接"],
  // presets, history, compare
  Presets: ["Voreinstellungen", "预设"],
  History: ["Verlauf", "历史记录"],
  "Every calculation is kept in this browser only. Tick two or more to compare them.": ["Jede Berechnung wird nur in diesem Browser gespeichert. Zum Vergleichen zwei oder mehr ankreuzen.", "每次计算只保存在本浏览器中。勾选两项或更多即可对比。"],
  "No calculations yet.": ["Noch keine Berechnungen.", "尚无计算记录。"],
  "Compare selected": ["Auswahl vergleichen", "对比所选"],
  "Clear history": ["Verlauf löschen", "清空历史"],
  "History cleared": ["Verlauf gelöscht", "历史已清空"],
  Open: ["Öffnen", "打开"],
  Use: ["Übernehmen", "使用"],
  Delete: ["Löschen", "删除"],
  Setting: ["Einstellung", "设置"],
  "Total per GPU": ["Gesamt pro GPU", "每 GPU 总计"],
  "Total, all GPUs": ["Gesamt, alle GPUs", "所有 GPU 总计"],
  // recommendation, performance, shortcuts
  "GPU recommendation and price analysis": ["GPU-Empfehlung und Preisanalyse", "GPU 推荐与价格分析"],
  "Ranking GPUs…": ["GPUs werden bewertet …", "正在为 GPU 排序…"],
  Count: ["Anzahl", "数量"],
  Price: ["Preis", "价格"],
  "Headroom / GPU": ["Reserve / GPU", "每 GPU 余量"],
  "Need / GPU": ["Bedarf / GPU", "每 GPU 需求"],
  "Max context": ["Max. Kontext", "最大上下文"],
  "Max batch": ["Max. Batch", "最大批大小"],
  "Decode ≤ tok/s": ["Decodierung ≤ Tok./s", "解码 ≤ token/s"],
  Performance: ["Leistung", "性能"],
  "First contentful paint": ["Erstes inhaltliches Rendern (FCP)", "首次内容绘制（FCP）"],
  "Largest contentful paint (LCP)": ["Größtes inhaltliches Rendern (LCP)", "最大内容绘制（LCP）"],
  "Cumulative layout shift (CLS)": ["Kumulative Layoutverschiebung (CLS)", "累计布局偏移（CLS）"],
  "Interaction to next paint (INP)": ["Interaktion bis zum nächsten Rendern (INP)", "交互到下一次绘制（INP）"],
  "Engine ready, since navigation": ["Engine bereit, seit dem Seitenaufruf", "引擎就绪（自页面导航起）"],
  "Engine start inside the worker": ["Engine-Start im Worker", "Worker 内引擎启动耗时"],
  "of which the Python runtime": ["davon die Python-Laufzeit", "其中 Python 运行时"],
  "Start-up memory snapshot": ["Speicherabbild beim Start", "启动内存快照"],
  "Calculations on this page": ["Berechnungen auf dieser Seite", "本页计算次数"],
  "Last calculation, input to figure": ["Letzte Berechnung, Eingabe bis Ergebnis", "最近一次计算（输入到结果）"],
  "Median calculation": ["Median einer Berechnung", "计算耗时中位数"],
  "Median chart drawing (after the figure)": ["Median des Diagrammzeichnens (nach der Zahl)", "图表绘制耗时中位数（数值之后）"],
  "Nothing is sent anywhere: this build has no analytics endpoint.": ["Es wird nichts gesendet: Diese Version hat keinen Analyse-Endpunkt.", "不会发送任何数据：此版本未配置统计端点。"],
  "Keyboard shortcuts": ["Tastenkürzel", "键盘快捷键"],
  "(press": ["(Taste", "（按"],
  "Shortcuts do nothing while you type in a field.": ["Während der Eingabe in ein Feld sind die Kürzel aus.", "在输入框中输入时快捷键不生效。"],
  Close: ["Schließen", "关闭"],
  "Inference mode": ["Modus Inferenz", "推理模式"],
  "Training mode": ["Modus Training", "训练模式"],
  "Fine-tuning mode (LoRA / QLoRA)": ["Modus Feinabstimmung (LoRA / QLoRA)", "微调模式（LoRA / QLoRA）"],
  "Search the models": ["Modelle durchsuchen", "搜索模型"],
  "Share: copy the link to this calculation": ["Teilen: Link zu dieser Berechnung kopieren", "分享：复制本次计算的链接"],
  "Go to the history": ["Zum Verlauf", "转到历史记录"],
  "GPU recommendation": ["GPU-Empfehlung", "GPU 推荐"],
  "Performance panel": ["Leistungsanzeige", "性能面板"],
  "Switch the colour theme": ["Farbschema wechseln", "切换配色"],
  "Show this list": ["Diese Liste anzeigen", "显示此列表"],
  "Theme: system": ["Farbschema: System", "配色：跟随系统"],
  "Theme: light": ["Farbschema: hell", "配色：浅色"],
  "Theme: dark": ["Farbschema: dunkel", "配色：深色"],
};

// Texts with numbers or names in them: [pattern, German, Chinese] ($1... are the captures).
const PATTERNS = [
  [/^Exact memory for inference, training and fine-tuning — weights, KV cache, activations, optimizer states — for (\d+) catalog models or any pasted$/, "Exakter Speicherbedarf für Inferenz, Training und Feinabstimmung – Gewichte, KV-Cache, Aktivierungen, Optimiererzustände – für $1 Katalogmodelle oder jede eingefügte", "推理、训练和微调的精确显存：权重、KV 缓存、激活值、优化器状态，适用于目录中的 $1 个模型或任意粘贴的"],
  [/^Engine v(\S+) ready — figures update as you type\.$/, "Engine v$1 bereit – die Werte folgen Ihrer Eingabe.", "引擎 v$1 已就绪——数值随输入实时更新。"],
  [/^(\d+) of (\d+) models$/, "$1 von $2 Modellen", "共 $2 个模型，匹配 $1 个"],
  [/^Comparing (\d+) calculations — highlighted rows differ$/, "Vergleich von $1 Berechnungen – markierte Zeilen unterscheiden sich", "对比 $1 次计算——高亮行表示不同"],
  // the result line under the calculator (app.js describe()), while computing and after
  [/^(.+) · (\S+) · (\S+) context · batch (\d+) — computing…$/, "$1 · $2 · $3 Kontext · Batch $4 – wird berechnet…", "$1 · $2 · 上下文 $3 · 批大小 $4——计算中…"],
  [/^(.+) · (\S+) · (\S+) context · batch (\d+)$/, "$1 · $2 · $3 Kontext · Batch $4", "$1 · $2 · 上下文 $3 · 批大小 $4"],
  [/^(.+) · full training · seq (\d+) · micro-batch (\d+) — computing…$/, "$1 · volles Training · Sequenz $2 · Mikro-Batch $3 – wird berechnet…", "$1 · 全量训练 · 序列长度 $2 · 微批大小 $3——计算中…"],
  [/^(.+) · full training · seq (\d+) · micro-batch (\d+)$/, "$1 · volles Training · Sequenz $2 · Mikro-Batch $3", "$1 · 全量训练 · 序列长度 $2 · 微批大小 $3"],
  [/^(.+) · (\S+) · seq (\d+) · micro-batch (\d+) — computing…$/, "$1 · $2 · Sequenz $3 · Mikro-Batch $4 – wird berechnet…", "$1 · $2 · 序列长度 $3 · 微批大小 $4——计算中…"],
  [/^(.+) · (\S+) · seq (\d+) · micro-batch (\d+)$/, "$1 · $2 · Sequenz $3 · Mikro-Batch $4", "$1 · $2 · 序列长度 $3 · 微批大小 $4"],
  [/^The engine could not start \((.*)\)\. The figures shown were computed at build time\.$/, "Die Engine konnte nicht starten ($1). Die angezeigten Werte wurden beim Build berechnet.", "引擎未能启动（$1）。当前显示的数值是构建时预先计算的。"],
  [/^(\d+) GPU options that fit, cheapest first$/, "$1 passende GPU-Optionen, günstigste zuerst", "$1 个可行的 GPU 方案，按价格从低到高"],
];

const LANG_INDEX = { de: 0, "zh-CN": 1 };
const ATTRS = ["placeholder", "title", "aria-label"];
const original = new WeakMap(); // text node -> [English, shown]
const originalAttr = new WeakMap(); // element -> {attr: [English, shown]}
let current = "en";

export function translate(text, lang = current) {
  const i = LANG_INDEX[lang];
  if (i === undefined) return text;
  const row = STRINGS[text] || PRESET_STRINGS[text];
  if (row) return row[i] ?? text; // null: no translation in that language, the English stays
  for (const [re, ...out] of PATTERNS) if (re.test(text)) return text.replace(re, out[i]);
  return text;
}

// Each node/attribute remembers [English source, text we wrote]; if the page changed it since
// (the text no longer is what we wrote), the new text is the new English source.
function translateText(node) {
  const memo = original.get(node);
  const source = memo && node.data === memo[1] ? memo[0] : node.data;
  const key = source.trim();
  if (!key) return;
  const out = translate(key);
  const next = out === key ? source : source.replace(key, out);
  if (out !== key || memo) original.set(node, [source, next]);
  if (node.data !== next) node.data = next;
}

function translateAttrs(el) {
  let saved = originalAttr.get(el);
  for (const attr of ATTRS) {
    const now = el.getAttribute(attr);
    if (!now) continue;
    const memo = saved && saved[attr];
    const source = memo && now === memo[1] ? memo[0] : now;
    const out = translate(source);
    if (out === source && !memo) continue;
    if (!saved) originalAttr.set(el, (saved = {}));
    saved[attr] = [source, out];
    if (now !== out) el.setAttribute(attr, out);
  }
}

function walk(root) {
  if (root.nodeType === Node.TEXT_NODE) return translateText(root);
  if (root.nodeType !== Node.ELEMENT_NODE) return;
  if (root.closest("script, style, svg, .site-footer, [translate=no]")) return;
  translateAttrs(root);
  const tw = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => (n.nodeType === Node.ELEMENT_NODE && n.matches("script, style, svg, .site-footer, [translate=no]") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  for (let n = tw.nextNode(); n; n = tw.nextNode()) {
    if (n.nodeType === Node.TEXT_NODE) translateText(n);
    else translateAttrs(n);
  }
}

function chosen() {
  if (BUILT) return BUILT;
  try {
    const saved = localStorage.getItem(KEY);
    if (saved in LANGUAGES) return saved;
  } catch {
    /* storage disabled */
  }
  for (const lang of navigator.languages || [navigator.language]) {
    const l = String(lang).toLowerCase();
    if (l.startsWith("de")) return "de";
    if (l.startsWith("zh")) return "zh-CN";
    if (l.startsWith("en")) return "en";
  }
  return "en";
}

export function setLanguage(lang, { persist = true } = {}) {
  if (!(lang in LANGUAGES)) lang = "en";
  const twin = BUILT && lang !== BUILT && document.querySelector('a.lang-switch[hreflang="en"]');
  if (twin) {
    try {
      localStorage.setItem(KEY, lang);
    } catch {
      /* not persisted: the English page follows the browser */
    }
    location.assign(twin.getAttribute("href") + location.search + location.hash);
    return;
  }
  current = lang;
  document.documentElement.lang = lang;
  if (persist) {
    try {
      localStorage.setItem(KEY, lang);
    } catch {
      /* not persisted */
    }
  }
  walk(document.body);
  const select = document.getElementById("lang-select");
  if (select && select.value !== lang) select.value = lang;
  // the user's choice: what the engine wrote (errors, warnings) is asked for again in it
  if (persist) document.documentElement.dispatchEvent(new CustomEvent("vram:language", { detail: { lang } }));
}

export function initI18n() {
  const header = document.querySelector(".site-header");
  if (header && !document.getElementById("lang-select")) {
    const select = document.createElement("select");
    select.id = "lang-select";
    select.className = "lang-select";
    select.setAttribute("aria-label", "Language");
    select.setAttribute("translate", "no");
    for (const [code, name] of Object.entries(LANGUAGES)) select.add(new Option(name, code));
    select.addEventListener("change", () => setLanguage(select.value));
    header.append(select);
  }
  const lang = chosen();
  if (lang !== "en") setLanguage(lang, { persist: false });
  else if (document.getElementById("lang-select")) document.getElementById("lang-select").value = "en";
  new MutationObserver((records) => {
    if (current === "en") return;
    for (const r of records) {
      if (r.type === "attributes") translateAttrs(r.target);
      else for (const n of r.addedNodes) walk(n);
    }
  }).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ATTRS });
  window.vramI18n = { setLanguage, translate, current: () => current };
}
