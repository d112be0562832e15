// The safety threshold holds across real-time reads (issue 18's probes), a burst of 150: the
// organization, the script and what must hold are in massDisable.ts; the burst of 40 is
// threshold.test.ts.
import { massDisableCase } from "./massDisable.ts";

massDisableCase(150);
