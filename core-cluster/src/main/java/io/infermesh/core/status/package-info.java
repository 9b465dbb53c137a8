/**
 * How failures leave the core: the module's one table from exceptions (and scheduler finish
 * reasons) to gRPC {@code Status}. Descriptions are safe to show a client; causes stay in the logs.
 */
package io.infermesh.core.status;
