"""Evidence before production (``pgshift plan``): a copy of the target's schema filled to a size
scaled from its statistics (:mod:`.clone`), every pending statement run on it with its locks,
rewrites and blast radius observed (:mod:`.trace`), the target's rows checked read-only against
what the statements ask of them (:mod:`.truth`), a fingerprint of what was planned
(:mod:`.fingerprint`) and the policy that turns it into pass or fail (:mod:`.policy`)."""
