package io.infermesh.models.stop;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Watches generated text for stop strings as it streams. Text that might be the start of a stop
 * string is held back until it is known not to be; at the first stop string to complete,
 * everything from its start on is dropped and the matcher is done.
 *
 * <p>Cost: an Aho–Corasick automaton over the stop strings' UTF-16 units. Each generated char
 * moves the automaton once (failure links make that amortized O(1)), and each {@link #accept}
 * copies what it releases, so a delta costs O(delta length + longest stop string) however long
 * the text grows and however the stop strings overlap themselves ({@code "eeee…"}). Building
 * costs O(total stop length). The naive check — searching the held text for every stop string
 * and trying every suffix length — costs stop length × tokens, or worse.
 *
 * <p>Semantics, whatever the chunking of the text: the cut is at the first position where some
 * stop string ends; if several end there, at the start of the longest (the earliest start). Not
 * thread-safe: one per generation, on the thread that reads it.
 */
public final class StopMatcher {
  private static final int ROOT = 0;

  // the automaton; node 0 is the root (the empty prefix)
  private final char[][] edgeChars; // (node) sorted chars of the node's children
  private final int[][] edgeTargets; // (node) the child for each of edgeChars
  private final int[] fail; // (node) the longest proper suffix of the node's prefix that is also a node
  private final int[] depth; // (node) the length of the node's prefix
  private final int[] matchLength; // (node) the longest stop string that ends here, 0 if none

  private final StringBuilder held = new StringBuilder(); // text not released yet
  private int state = ROOT;
  private boolean stopped;

  private StopMatcher(char[][] edgeChars, int[][] edgeTargets, int[] fail, int[] depth, int[] matchLength) {
    this.edgeChars = edgeChars;
    this.edgeTargets = edgeTargets;
    this.fail = fail;
    this.depth = depth;
    this.matchLength = matchLength;
  }

  /**
   * A matcher for {@code stops} (empty strings are ignored; an empty list never stops). Bounds
   * are the caller's to check ({@link StopStrings#check}); building is linear in their length.
   */
  public static StopMatcher of(List<String> stops) {
    // the trie, with children in sorted maps while building
    List<TreeMap<Character, Integer>> children = new ArrayList<>();
    List<Integer> depths = new ArrayList<>();
    List<Integer> terminal = new ArrayList<>();
    children.add(new TreeMap<>());
    depths.add(0);
    terminal.add(0);
    for (String stop : stops) {
      int node = ROOT;
      for (int i = 0; i < stop.length(); i++) {
        Integer next = children.get(node).get(stop.charAt(i));
        if (next == null) {
          next = children.size();
          children.get(node).put(stop.charAt(i), next);
          children.add(new TreeMap<>());
          depths.add(i + 1);
          terminal.add(0);
        }
        node = next;
      }
      if (!stop.isEmpty()) {
        terminal.set(node, stop.length());
      }
    }
    int n = children.size();
    char[][] edgeChars = new char[n][];
    int[][] edgeTargets = new int[n][];
    int[] depth = new int[n];
    for (int node = 0; node < n; node++) {
      TreeMap<Character, Integer> c = children.get(node);
      edgeChars[node] = new char[c.size()];
      edgeTargets[node] = new int[c.size()];
      int k = 0;
      for (Map.Entry<Character, Integer> e : c.entrySet()) {
        edgeChars[node][k] = e.getKey();
        edgeTargets[node][k++] = e.getValue();
      }
      depth[node] = depths.get(node);
    }
    int[] fail = new int[n];
    int[] matchLength = new int[n];
    StopMatcher m = new StopMatcher(edgeChars, edgeTargets, fail, depth, matchLength);
    // breadth first, so a node's failure target (shallower) is done before the node
    ArrayDeque<Integer> queue = new ArrayDeque<>();
    queue.add(ROOT);
    while (!queue.isEmpty()) {
      int u = queue.poll();
      // a node that ends a stop string ends the longest one here; otherwise its suffix's
      matchLength[u] = terminal.get(u) > 0 ? terminal.get(u) : (u == ROOT ? 0 : matchLength[fail[u]]);
      for (int k = 0; k < edgeChars[u].length; k++) {
        int v = edgeTargets[u][k];
        fail[v] = u == ROOT ? ROOT : m.step(fail[u], edgeChars[u][k]);
        queue.add(v);
      }
    }
    return m;
  }

  /** The child of {@code node} on {@code c}, or -1. */
  private int child(int node, char c) {
    int k = Arrays.binarySearch(edgeChars[node], c);
    return k < 0 ? -1 : edgeTargets[node][k];
  }

  /** The automaton's move from {@code node} on {@code c}: amortized O(1) along a text. */
  private int step(int node, char c) {
    while (true) {
      int next = child(node, c);
      if (next >= 0) {
        return next;
      }
      if (node == ROOT) {
        return ROOT;
      }
      node = fail[node];
    }
  }

  /** Feeds new text; returns what may be sent now (possibly empty). After a stop, returns "". */
  public String accept(CharSequence delta) {
    if (stopped) {
      return "";
    }
    int start = held.length();
    held.append(delta);
    for (int i = start; i < held.length(); i++) {
      state = step(state, held.charAt(i));
      int match = matchLength[state];
      if (match > 0) {
        stopped = true;
        String out = held.substring(0, i + 1 - match);
        held.setLength(0);
        return out;
      }
    }
    // everything before the longest suffix that could still grow into a stop string is safe
    int release = held.length() - depth[state];
    String out = held.substring(0, release);
    held.delete(0, release);
    return out;
  }

  /** Whether a stop string was seen. */
  public boolean stopped() {
    return stopped;
  }

  /** Characters held back now (at most the longest stop string less one). */
  public int held() {
    return held.length();
  }

  /** The text still held back, released at the end of generation ("" after a stop). */
  public String flush() {
    String out = stopped ? "" : held.toString();
    held.setLength(0);
    state = ROOT;
    return out;
  }
}
