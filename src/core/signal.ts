/**
 * Whether `fn` can receive the AbortSignal at all.
 *
 * An `AbortController` costs more than everything else a call does, so a function that
 * could never see the signal is called without one. That is a function whose parameter
 * list is empty as written, `() => ...` or `function () {...}`. `fn.length` alone is not
 * enough: it is also 0 for `(...args) => ...` and `(signal = x) => ...`, which do receive
 * it, so for length 0 the source text is checked. Bound and native functions hide their
 * source, so they always get a signal. A function that reads its arguments through
 * `arguments` instead of naming a parameter must name it to get the signal.
 */
export function wantsSignal(fn: Function): boolean {
  if (fn.length > 0) return true;
  const source = Function.prototype.toString.call(fn);
  // The first "(" opens the parameter list for arrows, functions and methods alike.
  let i = source.indexOf('(') + 1;
  if (i === 0) return true;
  let c = source.charCodeAt(i);
  while (c === 32 || c === 9 || c === 10 || c === 13) c = source.charCodeAt(++i);
  return c !== 41 /* ")" */ || source.endsWith('[native code] }');
}
