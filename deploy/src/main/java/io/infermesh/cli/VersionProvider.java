package io.infermesh.cli;

import picocli.CommandLine.IVersionProvider;

/** Reports the version stamped into the jar manifest by the build. */
final class VersionProvider implements IVersionProvider {
  @Override
  public String[] getVersion() {
    String version = Main.class.getPackage().getImplementationVersion();
    return new String[] {
      "infermesh " + (version == null ? "(development build)" : version),
      "Java " + Runtime.version() + " on " + System.getProperty("os.name") + " " + System.getProperty("os.arch")
    };
  }
}
