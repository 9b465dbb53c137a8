package io.infermesh.cli;

import io.infermesh.api.v1.DrainRequest;
import io.infermesh.api.v1.DrainResponse;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code infermesh admin drain}: takes a node out of rotation. */
@Command(
    name = "drain",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {
      "Take the node out of rotation: its health turns NOT_SERVING, /readyz 503 and",
      "its Consul check fails, so balancers stop sending to it; new requests that",
      "still arrive are refused UNAVAILABLE (callers retry elsewhere); requests in",
      "flight finish. Stop the node once 'in flight' is 0. Undo with 'admin undrain'.",
      ""
    })
final class AdminDrainCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @CommandLine.Mixin AdminConnection connection;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    return connection.call(spec.commandLine().getErr(),
        admin -> print(out, admin.drain(DrainRequest.getDefaultInstance())));
  }

  static void print(PrintWriter out, DrainResponse r) {
    out.println((r.getDrained() ? "drained" : "in rotation") + "; ready " + r.getReady() + "; in flight "
        + r.getInFlight());
  }
}
