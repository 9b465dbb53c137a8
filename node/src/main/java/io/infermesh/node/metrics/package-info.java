/**
 * Meters every mesh process publishes the same way, whatever its role: today the expiry of its mesh
 * certificate ({@link io.infermesh.node.metrics.CertificateExpiryGauge}), which the alert rules in
 * {@code deploy/prometheus/} watch.
 */
package io.infermesh.node.metrics;
