package io.infermesh.edge.batch;

import static java.util.Objects.requireNonNull;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A small, fixed set of JDBC connections, each used by one thread at a time inside {@link
 * #transaction}: one for SQLite (it has one writer anyway, and one connection sees its own
 * writes), a few for PostgreSQL. A connection that fails is closed and opened afresh. Thread-safe.
 */
final class Connections implements AutoCloseable {
  private static final long WAIT_SECONDS = 30;

  /** Work done inside one transaction. */
  interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  /** Opens a new connection. */
  interface Opener {
    Connection open() throws SQLException;
  }

  private final Opener opener;
  private final BlockingQueue<Connection> idle;
  private final List<Connection> all = new ArrayList<>();

  Connections(Opener opener, int size) throws SQLException {
    this.opener = requireNonNull(opener, "opener");
    this.idle = new ArrayBlockingQueue<>(size);
    for (int i = 0; i < size; i++) {
      Connection c = fresh();
      idle.add(c);
    }
  }

  static Opener url(String url, String user, String password) {
    return () -> user.isEmpty() ? DriverManager.getConnection(url) : DriverManager.getConnection(url, user, password);
  }

  private Connection fresh() throws SQLException {
    Connection c = opener.open();
    c.setAutoCommit(false);
    synchronized (all) {
      all.add(c);
    }
    return c;
  }

  /** Runs {@code work} in a transaction: committed when it returns, rolled back when it throws. */
  <T> T transaction(Work<T> work) {
    Connection c;
    try {
      c = idle.poll(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BatchStoreException("interrupted waiting for a database connection", e);
    }
    if (c == null) {
      throw new BatchStoreException("no database connection free after " + WAIT_SECONDS + " s", null);
    }
    boolean healthy = false;
    try {
      T result = work.run(c);
      c.commit();
      healthy = true;
      return result;
    } catch (SQLException e) {
      healthy = rollback(c);
      throw new BatchStoreException(e.getMessage(), e);
    } catch (RuntimeException e) {
      healthy = rollback(c);
      throw e;
    } finally {
      giveBack(c, healthy);
    }
  }

  private static boolean rollback(Connection c) {
    try {
      c.rollback();
      return true;
    } catch (SQLException e) {
      return false;
    }
  }

  private void giveBack(Connection c, boolean healthy) {
    if (!healthy) {
      try {
        c.close();
      } catch (SQLException ignored) {
        // already broken
      }
      try {
        c = fresh();
      } catch (SQLException e) {
        throw new BatchStoreException("cannot reconnect to the database: " + e.getMessage(), e);
      }
    }
    idle.add(c);
  }

  @Override
  public void close() {
    synchronized (all) {
      for (Connection c : all) {
        try {
          c.close();
        } catch (SQLException ignored) {
          // closing anyway
        }
      }
    }
  }
}
