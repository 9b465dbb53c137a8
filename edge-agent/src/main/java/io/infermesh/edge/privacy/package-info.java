/**
 * Sensitive data at the front door: detectors for personal data and secrets, a per-tenant
 * {@link io.infermesh.edge.privacy.PrivacyPolicy} that masks, blocks or pins a request to the edge,
 * the {@link io.infermesh.edge.privacy.Masker} that applies it to a request's texts, and the
 * {@link io.infermesh.edge.privacy.AnswerRestorer} that puts the originals back into the answer, whole
 * or streamed.
 *
 * <p>The built-in detectors follow Microsoft Presidio's recognizers (e-mail, phone numbers, payment
 * cards with the Luhn check, IBAN with mod-97, IP addresses, US SSN with its invalid ranges) and add
 * the PRC resident ID (ISO 7064 MOD 11-2), API keys and PEM private keys. Every detector runs in time
 * linear in the text: bounded or possessive repetition behind a cheap first check, and a work budget
 * on tenants' own regexes (which cannot be proven linear) that fails the request closed.
 *
 * <p>Not yet on the request path: the edge's request pipeline calls none of this yet.
 */
package io.infermesh.edge.privacy;
