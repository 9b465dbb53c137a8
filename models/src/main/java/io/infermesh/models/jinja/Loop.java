package io.infermesh.models.jinja;

import java.util.List;

/** The {@code loop} variable of a for loop over {@code items}, at {@code index0}. */
final class Loop {
  private final List<Object> items;
  int index0;

  Loop(List<Object> items) {
    this.items = items;
  }

  Object attribute(String name) {
    int n = items.size();
    return switch (name) {
      case "index" -> (long) index0 + 1;
      case "index0" -> (long) index0;
      case "revindex" -> (long) (n - index0);
      case "revindex0" -> (long) (n - index0 - 1);
      case "first" -> index0 == 0;
      case "last" -> index0 == n - 1;
      case "length" -> (long) n;
      case "previtem" -> index0 > 0 ? items.get(index0 - 1) : new Undefined("loop.previtem");
      case "nextitem" -> index0 + 1 < n ? items.get(index0 + 1) : new Undefined("loop.nextitem");
      case "cycle" -> (JinjaFunction) (args, kwargs) -> args.isEmpty() ? new Undefined("loop.cycle")
          : args.get(index0 % args.size());
      default -> new Undefined("loop." + name);
    };
  }
}
