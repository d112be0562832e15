// The safety threshold holds across real-time reads (issue 18's probes), a burst of 40: the
// organization, the script and what must hold are in massDisable.ts; the burst of 150 is
// thresholdLongBurst.test.ts, a file of its own so that the two run side by side.
import { massDisableCase } from "./massDisable.ts";

massDisableCase(40);
