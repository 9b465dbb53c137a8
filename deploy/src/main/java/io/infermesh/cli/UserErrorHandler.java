package io.infermesh.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * Turns the failures a user can fix (bad files, bad arguments, refused overwrites) into one
 * line on stderr and exit code 1; anything else is a bug and keeps its stack trace.
 */
final class UserErrorHandler implements IExecutionExceptionHandler {
  static final int USER_ERROR = 1;
  static final int INTERNAL_ERROR = 70; // EX_SOFTWARE

  @Override
  public int handleExecutionException(Exception e, CommandLine commandLine, ParseResult parseResult) {
    if (e instanceof IOException || e instanceof UncheckedIOException || e instanceof IllegalArgumentException
        || e instanceof IllegalStateException) {
      commandLine.getErr().println(commandLine.getColorScheme().errorText("error: " + e.getMessage()));
      return USER_ERROR;
    }
    commandLine.getErr().println("internal error (please report it):");
    e.printStackTrace(commandLine.getErr());
    return INTERNAL_ERROR;
  }
}
