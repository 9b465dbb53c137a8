/**
 * The certificate signer ({@code infermesh signer}): the process that holds the mesh CA key and
 * renews devices' short-lived certificates over mutual TLS ({@code infermesh.v1.CertificateSigner}).
 */
package io.infermesh.xds.signer;
