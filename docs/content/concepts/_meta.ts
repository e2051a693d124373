export default {
  "change-sets": "Change sets and ids",
  tenants: "Tenants, the ledger and drift",
  merging: "Branches, merges and hooks",
  "revert-and-snapshots": "Revert and snapshots",
  protection: "Protection and approvals",
  architecture: "Architecture",
};
