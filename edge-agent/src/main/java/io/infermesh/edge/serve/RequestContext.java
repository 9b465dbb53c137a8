package io.infermesh.edge.serve;

import io.infermesh.edge.auth.Tenant;

/** What the bookkeeping of one admitted request needs: who pays, what it is, which model. */
record RequestContext(Tenant tenant, Operation operation, String model) {}
