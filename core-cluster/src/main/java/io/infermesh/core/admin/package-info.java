/**
 * The operator's {@code infermesh.v1.Admin} service on core nodes and pipeline stages: listing the
 * versions a node holds, swapping and rolling back models with every weight file pinned by its
 * SHA-256 ({@link io.infermesh.core.admin.ModelSwitch}, two-phase over a pipeline's stages), and
 * draining a node out of rotation. Authorized for role operator only.
 */
package io.infermesh.core.admin;
