package io.infermesh.core.constrain;

import io.infermesh.models.grammar.Grammar;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link Grammar} compiled to bytes and run as llama.cpp runs GBNF: a state is a set of stacks,
 * each stack a chain of grammar positions whose top is a byte set; a byte keeps the stacks whose
 * top accepts it, each moved on and expanded (rule references replaced by their alternatives, a
 * finished sequence popped; a reference in tail position is not pushed, so right recursion runs
 * in constant stack). An empty stack means the input so far is a whole sentence.
 *
 * <p>Code points become UTF-8: literals byte by byte, a class that takes every non-ASCII code
 * point becomes the UTF-8 lead/continuation byte patterns. Each position also knows the fewest
 * bytes that finish its sequence ({@code minRest}), so a stack knows the fewest bytes that finish
 * the sentence: {@link MatchState#distance()}. Immutable and thread-safe.
 */
final class ByteGrammar {
  static final int CHARS = 0;
  static final int REF = 1;
  static final int END = 2;
  private static final int INF = Integer.MAX_VALUE / 4;

  private final int[] kind; // (positions)
  private final int[] arg; // (positions): set index for CHARS, rule index for REF
  private final long[] sets; // (sets, 4): 256-bit byte sets
  private final int[][] alts; // (rules, alternatives): first position of each alternative
  private final int[] minRest; // (positions): fewest bytes from here to the end of the sequence
  private final int root;

  private ByteGrammar(int[] kind, int[] arg, long[] sets, int[][] alts, int[] minRest, int root) {
    this.kind = kind;
    this.arg = arg;
    this.sets = sets;
    this.alts = alts;
    this.minRest = minRest;
    this.root = root;
  }

  /**
   * @throws IllegalArgumentException for a character class that takes some but not all non-ASCII
   *     code points (the grammar compilers never write one)
   */
  static ByteGrammar compile(Grammar g) {
    return new Compiler(g).compile();
  }

  /** The state before any byte. */
  MatchState initial() {
    Expansion out = new Expansion();
    for (int a : alts[root]) {
      out.expand(kind[a] == END ? null : new Frame(a, null, minRest));
    }
    return out.state();
  }

  /** The state after {@code b} (0–255), or null when no stack accepts it. */
  MatchState advance(MatchState s, int b) {
    Expansion out = null;
    for (Frame f : s.stacks) {
      int set = arg[f.pos] * 4;
      if ((sets[set + (b >>> 6)] & (1L << (b & 63))) == 0) {
        continue;
      }
      if (out == null) {
        out = new Expansion();
      }
      out.expand(kind[f.pos + 1] == END ? f.next : new Frame(f.pos + 1, f.next, minRest));
    }
    return out == null || out.isEmpty() ? null : out.state();
  }

  /** The state after {@code bytes}, or null when refused on the way. */
  MatchState advance(MatchState s, byte[] bytes) {
    for (int i = 0; i < bytes.length && s != null; i++) {
      s = advance(s, bytes[i] & 0xff);
    }
    return s;
  }

  /** Collects the expanded stacks of one step. Confined to one call. */
  private final class Expansion {
    private final List<Frame> frames = new ArrayList<>(4);
    private boolean accepting;

    void expand(Frame f) {
      if (f == null) {
        accepting = true;
        return;
      }
      if (kind[f.pos] == CHARS) {
        for (Frame g : frames) {
          if (g.equals(f)) {
            return;
          }
        }
        frames.add(f);
        return;
      }
      // REF: replace by each alternative, the rest of this sequence below it
      Frame rest = kind[f.pos + 1] == END ? f.next : new Frame(f.pos + 1, f.next, minRest);
      for (int a : alts[arg[f.pos]]) {
        expand(kind[a] == END ? rest : new Frame(a, rest, minRest));
      }
    }

    boolean isEmpty() {
      return frames.isEmpty() && !accepting;
    }

    MatchState state() {
      return new MatchState(frames.toArray(new Frame[0]), accepting);
    }
  }

  /** One stack: a grammar position over the stack below it. Immutable; equal by content. */
  static final class Frame {
    final int pos;
    final Frame next;
    final int distance; // fewest bytes to empty this stack
    private final int hash;

    Frame(int pos, Frame next, int[] minRest) {
      this.pos = pos;
      this.next = next;
      this.distance = Math.min(INF, minRest[pos] + (next == null ? 0 : next.distance));
      this.hash = pos * 31 + (next == null ? 0 : next.hash * 17);
    }

    @Override
    public boolean equals(Object o) {
      if (this == o) {
        return true;
      }
      if (!(o instanceof Frame f) || f.hash != hash || f.pos != pos) {
        return false;
      }
      return next == null ? f.next == null : next.equals(f.next);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  /** Builds the flat tables. Confined to one compile. */
  private static final class Compiler {
    private final Grammar g;
    private final Map<String, Integer> ruleIds = new HashMap<>();
    private final List<List<List<int[]>>> ruleBodies = new ArrayList<>(); // rule → alt → element {kind, arg}
    private final List<long[]> setList = new ArrayList<>();
    private final Map<List<Long>, Integer> setIds = new HashMap<>();
    private final Map<List<Long>, Integer> utf8Rules = new HashMap<>();

    Compiler(Grammar g) {
      this.g = g;
    }

    ByteGrammar compile() {
      for (String name : g.rules().keySet()) {
        ruleIds.put(name, ruleIds.size());
        ruleBodies.add(null);
      }
      for (Map.Entry<String, List<List<Grammar.Symbol>>> r : g.rules().entrySet()) {
        List<List<int[]>> body = new ArrayList<>();
        for (List<Grammar.Symbol> alt : r.getValue()) {
          List<int[]> seq = new ArrayList<>();
          for (Grammar.Symbol s : alt) {
            symbol(s, seq);
          }
          body.add(seq);
        }
        ruleBodies.set(ruleIds.get(r.getKey()), body);
      }
      // positions: every alternative laid out in turn, each followed by END
      int n = 0;
      for (List<List<int[]>> body : ruleBodies) {
        for (List<int[]> alt : body) {
          n += alt.size() + 1;
        }
      }
      int[] kind = new int[n];
      int[] arg = new int[n];
      int[][] alts = new int[ruleBodies.size()][];
      int at = 0;
      for (int r = 0; r < ruleBodies.size(); r++) {
        List<List<int[]>> body = ruleBodies.get(r);
        alts[r] = new int[body.size()];
        for (int a = 0; a < body.size(); a++) {
          alts[r][a] = at;
          for (int[] e : body.get(a)) {
            kind[at] = e[0];
            arg[at] = e[1];
            at++;
          }
          kind[at++] = END;
        }
      }
      // fewest bytes per rule: shortest-path fixed point (no rule is shorter than its parts)
      int[] ruleMin = new int[alts.length];
      Arrays.fill(ruleMin, INF);
      for (boolean changed = true; changed; ) {
        changed = false;
        for (int r = 0; r < alts.length; r++) {
          for (int start : alts[r]) {
            int len = 0;
            for (int p = start; kind[p] != END; p++) {
              len = Math.min(INF, len + (kind[p] == CHARS ? 1 : ruleMin[arg[p]]));
            }
            if (len < ruleMin[r]) {
              ruleMin[r] = len;
              changed = true;
            }
          }
        }
      }
      int[] minRest = new int[n];
      for (int p = n - 1; p >= 0; p--) {
        minRest[p] = kind[p] == END ? 0
            : Math.min(INF, (kind[p] == CHARS ? 1 : ruleMin[arg[p]]) + minRest[p + 1]);
      }
      long[] sets = new long[setList.size() * 4];
      for (int i = 0; i < setList.size(); i++) {
        System.arraycopy(setList.get(i), 0, sets, i * 4, 4);
      }
      return new ByteGrammar(kind, arg, sets, alts, minRest, ruleIds.get(g.root()));
    }

    private void symbol(Grammar.Symbol s, List<int[]> seq) {
      if (s instanceof Grammar.Literal l) {
        for (byte b : l.text().getBytes(StandardCharsets.UTF_8)) {
          long[] set = new long[4];
          set[(b & 0xff) >>> 6] |= 1L << (b & 63);
          seq.add(new int[] {CHARS, set(set)});
        }
      } else if (s instanceof Grammar.CharClass c) {
        long[] ascii = new long[4];
        for (int cp = 0; cp < 0x80; cp++) {
          if (c.matches(cp)) {
            ascii[cp >>> 6] |= 1L << (cp & 63);
          }
        }
        boolean anyNonAscii = false;
        boolean allNonAscii = true;
        int[] r = c.ranges();
        for (int i = 0; i < r.length; i += 2) {
          if (r[i + 1] >= 0x80) {
            anyNonAscii = true;
            if (!(r[i] <= 0x80 && r[i + 1] >= 0x10ffff)) {
              allNonAscii = false;
            }
          }
        }
        boolean takesNonAscii = c.negated() ? !anyNonAscii : anyNonAscii && allNonAscii;
        if (c.negated() ? anyNonAscii : anyNonAscii && !allNonAscii) {
          throw new IllegalArgumentException("character class " + c + " takes only some non-ASCII code points");
        }
        if (!takesNonAscii) {
          seq.add(new int[] {CHARS, set(ascii)});
        } else {
          seq.add(new int[] {REF, utf8Rule(ascii)});
        }
      } else {
        Integer id = ruleIds.get(((Grammar.Ref) s).rule());
        if (id == null) {
          throw new IllegalArgumentException("no rule " + ((Grammar.Ref) s).rule());
        }
        seq.add(new int[] {REF, id});
      }
    }

    /** A rule for one ASCII byte in {@code ascii} or one whole UTF-8 encoded non-ASCII code point. */
    private int utf8Rule(long[] ascii) {
      List<Long> key = List.of(ascii[0], ascii[1], ascii[2], ascii[3]);
      Integer existing = utf8Rules.get(key);
      if (existing != null) {
        return existing;
      }
      int cont = set(range(0x80, 0xbf));
      List<List<int[]>> body = new ArrayList<>();
      body.add(List.of(new int[] {CHARS, set(ascii)}));
      body.add(List.of(new int[] {CHARS, set(range(0xc2, 0xdf))}, new int[] {CHARS, cont}));
      body.add(List.of(new int[] {CHARS, set(range(0xe0, 0xef))}, new int[] {CHARS, cont}, new int[] {CHARS, cont}));
      body.add(List.of(new int[] {CHARS, set(range(0xf0, 0xf4))}, new int[] {CHARS, cont}, new int[] {CHARS, cont},
          new int[] {CHARS, cont}));
      int id = ruleBodies.size();
      ruleBodies.add(body);
      utf8Rules.put(key, id);
      return id;
    }

    private static long[] range(int lo, int hi) {
      long[] set = new long[4];
      for (int b = lo; b <= hi; b++) {
        set[b >>> 6] |= 1L << (b & 63);
      }
      return set;
    }

    private int set(long[] set) {
      return setIds.computeIfAbsent(List.of(set[0], set[1], set[2], set[3]), k -> {
        setList.add(set);
        return setList.size() - 1;
      });
    }
  }
}
