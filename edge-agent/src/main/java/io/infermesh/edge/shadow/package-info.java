/**
 * Shadow traffic for proxyless clients: {@link io.infermesh.edge.shadow.ShadowMirror} sends a
 * sample of the edge's escalations a second time, pinned to a shadow model version, without the
 * caller waiting for it, and {@link io.infermesh.edge.shadow.AnswerAgreement} measures how far the
 * two answers agree.
 */
package io.infermesh.edge.shadow;
