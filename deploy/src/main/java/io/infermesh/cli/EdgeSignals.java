package io.infermesh.cli;

import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns SIGTERM and SIGINT into a call to an action, so a command can shut down cleanly and still
 * exit 0 (a JVM shut down by a signal exits 143). Uses {@code sun.misc.Signal} (module {@code
 * jdk.unsupported}) reflectively; where it is missing, falls back to a shutdown hook, which runs
 * the action but cannot change the exit status.
 */
final class EdgeSignals {
  private static final Logger log = LoggerFactory.getLogger(EdgeSignals.class);

  private EdgeSignals() {}

  /** Runs {@code action} (once per signal, on the JVM's signal thread) on SIGTERM and SIGINT. */
  static void onTermination(Runnable action) {
    try {
      Class<?> signal = Class.forName("sun.misc.Signal");
      Class<?> handlerType = Class.forName("sun.misc.SignalHandler");
      Object handler = Proxy.newProxyInstance(handlerType.getClassLoader(), new Class<?>[] {handlerType},
          (proxy, method, args) -> switch (method.getName()) {
            case "handle" -> {
              log.info("received {}: shutting down", args[0]);
              action.run();
              yield null;
            }
            case "hashCode" -> System.identityHashCode(proxy);
            case "equals" -> proxy == args[0];
            default -> "EdgeSignals.handler";
          });
      Constructor<?> named = signal.getConstructor(String.class);
      Method handle = signal.getMethod("handle", signal, handlerType);
      for (String name : new String[] {"TERM", "INT"}) {
        handle.invoke(null, named.newInstance(name), handler);
      }
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      log.warn("cannot handle termination signals ({}); a signal will stop the agent through a shutdown hook", e.toString());
      Runtime.getRuntime().addShutdownHook(new Thread(action, "infermesh-shutdown"));
    }
  }
}
