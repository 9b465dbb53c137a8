package io.infermesh.edge.lease;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * Where a {@link LeaseWallet} keeps its state: one file, replaced whole and durably on every
 * change — written to {@code FILE.tmp}, forced to disk, renamed over {@code FILE} atomically, then
 * the directory forced — so after a crash the file is either the old state or the new one, never
 * a mix. An interface so that a test can make a write fail the way a crash would.
 */
interface WalletFile {
  /** The last state written, if any. */
  Optional<byte[]> read() throws IOException;

  /** Replaces the state with {@code content}; when this returns, it survives a crash or power loss. */
  void write(byte[] content) throws IOException;

  /** The file at {@code path}. */
  static WalletFile at(Path path) {
    return new Durable(path);
  }

  /** The atomic, fsync'd file. Not thread-safe: the wallet serializes its writes. */
  final class Durable implements WalletFile {
    private final Path path;
    private final Path temp;

    Durable(Path path) {
      this.path = requireNonNull(path, "path").toAbsolutePath();
      this.temp = this.path.resolveSibling(this.path.getFileName() + ".tmp");
    }

    @Override
    public Optional<byte[]> read() throws IOException {
      try {
        return Optional.of(Files.readAllBytes(path));
      } catch (NoSuchFileException e) {
        return Optional.empty();
      }
    }

    @Override
    public void write(byte[] content) throws IOException {
      Files.createDirectories(path.getParent());
      try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer buffer = ByteBuffer.wrap(content);
        while (buffer.hasRemaining()) {
          out.write(buffer);
        }
        out.force(true);
      }
      try {
        Files.move(temp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException(path + ": this file system cannot replace a file atomically; put leases.file elsewhere",
            e);
      }
      try (FileChannel dir = FileChannel.open(path.getParent(), StandardOpenOption.READ)) {
        dir.force(true); // the rename itself reaches the disk
      }
    }

    @Override
    public String toString() {
      return path.toString();
    }
  }
}
