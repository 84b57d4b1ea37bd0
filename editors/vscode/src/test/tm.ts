// A small TextMate tokenizer for the grammar test: `match`, `begin`/`end`,
// `name`, `captures`/`beginCaptures`/`endCaptures` and `include` (`#rule`,
// `$self`), one line at a time, with JavaScript regular expressions (the
// grammar's regexes use only syntax that JavaScript and Oniguruma read alike).
// Like VS Code, at each position the earliest match wins, ties go to the
// pattern listed first, and a region's `end` wins over its patterns.

export interface Rule {
  name?: string;
  match?: string;
  begin?: string;
  end?: string;
  include?: string;
  patterns?: Rule[];
  captures?: Record<string, { name?: string }>;
  beginCaptures?: Record<string, { name?: string }>;
  endCaptures?: Record<string, { name?: string }>;
}

export interface Grammar {
  scopeName: string;
  patterns: Rule[];
  repository: Record<string, Rule>;
}

/** A piece of a line with its scopes, outermost first. */
export interface Token {
  text: string;
  scopes: string[];
}

/** Every regular expression of the grammar, with where it is (for messages). */
export function allRegexes(grammar: Grammar): { where: string; source: string }[] {
  const out: { where: string; source: string }[] = [];
  const visit = (rule: Rule, where: string): void => {
    for (const key of ['match', 'begin', 'end'] as const) {
      const source = rule[key];
      if (source !== undefined) {
        out.push({ where: `${where}.${key}`, source });
      }
    }
    (rule.patterns ?? []).forEach((r, i) => visit(r, `${where}.patterns[${i}]`));
  };
  grammar.patterns.forEach((r, i) => visit(r, `patterns[${i}]`));
  for (const [name, rule] of Object.entries(grammar.repository)) {
    visit(rule, `repository.${name}`);
  }
  return out;
}

function compile(source: string): RegExp {
  return new RegExp(source, 'dg');
}

interface Frame {
  rule: Rule;
  end: RegExp;
  scopes: string[];
}

interface Candidate {
  kind: 'match' | 'begin' | 'end';
  rule: Rule;
  found: RegExpExecArray;
}

export class Tokenizer {
  private readonly cache = new Map<string, RegExp>();

  constructor(private readonly grammar: Grammar) {}

  private regex(source: string): RegExp {
    let re = this.cache.get(source);
    if (!re) {
      re = compile(source);
      this.cache.set(source, re);
    }
    return re;
  }

  /** The patterns of a list with the includes resolved. */
  private flatten(patterns: Rule[], seen: Set<Rule> = new Set()): Rule[] {
    const out: Rule[] = [];
    for (const rule of patterns) {
      if (rule.include !== undefined) {
        const target =
          rule.include === '$self' || rule.include === '$base'
            ? { patterns: this.grammar.patterns }
            : this.grammar.repository[rule.include.replace(/^#/, '')];
        if (!target) {
          throw new Error(`unknown include ${rule.include}`);
        }
        if (seen.has(target)) {
          continue;
        }
        const inner = new Set(seen).add(target);
        if (target.match !== undefined || target.begin !== undefined) {
          out.push(target);
        } else {
          out.push(...this.flatten(target.patterns ?? [], inner));
        }
      } else if (rule.match !== undefined || rule.begin !== undefined) {
        out.push(rule);
      } else if (rule.patterns) {
        out.push(...this.flatten(rule.patterns, seen));
      }
    }
    return out;
  }

  /** The tokens of each line of `text`. */
  tokenize(text: string): Token[][] {
    const stack: Frame[] = [];
    return text.split('\n').map((line) => this.tokenizeLine(line, stack));
  }

  private tokenizeLine(line: string, stack: Frame[]): Token[] {
    const tokens: Token[] = [];
    const base = [this.grammar.scopeName];
    const scopesNow = (): string[] => (stack.length ? stack[stack.length - 1].scopes : base);
    const emit = (from: number, to: number, scopes: string[]): void => {
      if (to > from) {
        tokens.push({ text: line.slice(from, to), scopes });
      }
    };
    /** Emits `found` with its capture scopes on top of `scopes`. */
    const emitMatch = (
      found: RegExpExecArray,
      scopes: string[],
      captures: Record<string, { name?: string }> | undefined,
    ): void => {
      const start = found.index;
      const end = start + found[0].length;
      const marks: { from: number; to: number; name: string }[] = [];
      const indices = found.indices ?? [];
      for (const [group, capture] of Object.entries(captures ?? {})) {
        const span = indices[Number(group)];
        if (span && capture.name && span[1] > span[0]) {
          marks.push({ from: span[0], to: span[1], name: capture.name });
        }
      }
      // Split [start, end) at every capture boundary; each piece gets the
      // scopes of the captures covering it, outer (longer) ones first.
      const cuts = new Set([start, end]);
      marks.forEach((m) => {
        cuts.add(m.from);
        cuts.add(m.to);
      });
      const points = [...cuts].sort((a, b) => a - b);
      for (let i = 0; i + 1 < points.length; i++) {
        const [from, to] = [points[i], points[i + 1]];
        const covering = marks
          .filter((m) => m.from <= from && m.to >= to)
          .sort((a, b) => b.to - b.from - (a.to - a.from))
          .map((m) => m.name);
        emit(from, to, [...scopes, ...covering]);
      }
    };

    let pos = 0;
    let guard = 0;
    while (pos < line.length) {
      if (++guard > 10_000) {
        throw new Error(`the tokenizer loops on line: ${line}`);
      }
      const frame = stack[stack.length - 1];
      const patterns = this.flatten(frame ? frame.rule.patterns ?? [] : this.grammar.patterns);
      let best: Candidate | undefined;
      const consider = (kind: Candidate['kind'], rule: Rule, re: RegExp): void => {
        re.lastIndex = pos;
        const found = re.exec(line);
        if (found && (!best || found.index < best.found.index)) {
          best = { kind, rule, found };
        }
      };
      if (frame) {
        consider('end', frame.rule, frame.end);
      }
      for (const rule of patterns) {
        consider(rule.match !== undefined ? 'match' : 'begin', rule, this.regex(rule.match ?? rule.begin ?? ''));
      }
      const chosen = best as Candidate | undefined;
      if (!chosen) {
        emit(pos, line.length, scopesNow());
        break;
      }
      emit(pos, chosen.found.index, scopesNow());
      const after = chosen.found.index + chosen.found[0].length;
      switch (chosen.kind) {
        case 'match': {
          const scopes = chosen.rule.name ? [...scopesNow(), chosen.rule.name] : scopesNow();
          emitMatch(chosen.found, scopes, chosen.rule.captures);
          break;
        }
        case 'begin': {
          const scopes = chosen.rule.name ? [...scopesNow(), chosen.rule.name] : scopesNow();
          emitMatch(chosen.found, scopes, chosen.rule.beginCaptures ?? chosen.rule.captures);
          stack.push({ rule: chosen.rule, end: compile(chosen.rule.end ?? '$'), scopes });
          break;
        }
        case 'end': {
          const scopes = scopesNow();
          stack.pop();
          emitMatch(chosen.found, scopes, chosen.rule.endCaptures ?? chosen.rule.captures);
          break;
        }
      }
      if (after === chosen.found.index && chosen.kind !== 'end') {
        // An empty match that is not a region's end: step over one character.
        emit(after, after + 1, scopesNow());
        pos = after + 1;
      } else {
        pos = after;
      }
    }
    // Regions that end at the end of the line (`$`) end here.
    for (;;) {
      const frame = stack[stack.length - 1];
      if (!frame) {
        break;
      }
      frame.end.lastIndex = line.length;
      const found = frame.end.exec(line);
      if (!found || found.index !== line.length) {
        break;
      }
      stack.pop();
    }
    return tokens;
  }
}

/** The scopes of the `nth` token (from 0) whose text is `text`. */
export function scopesOf(tokens: Token[], text: string, nth = 0): string[] | undefined {
  return tokens.filter((t) => t.text === text)[nth]?.scopes;
}
