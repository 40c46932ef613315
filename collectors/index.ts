// The registry: every collector type Uplift knows, one import and one entry each. A test fails when a
// folder under collectors/ is missing here or lacks its README, example configuration or test.
// (`_template/` is a copy-me skeleton, not a collector: it is not registered.)
import { createRegistry } from "../src/collect/types.js";
import { csvCollector } from "./csv/index.js";
import { demoCollector } from "./demo/index.js";
import { githubPullsCollector } from "./github-pulls/index.js";
import { httpJsonCollector } from "./http-json/index.js";
import { jiraIssuesCollector } from "./jira-issues/index.js";
import { serviceNowIncidentsCollector } from "./servicenow-incidents/index.js";
import { sqlCollector } from "./sql/index.js";
import { zendeskTalkCallsCollector } from "./zendesk-talk-calls/index.js";

export const registry = createRegistry([
  csvCollector,
  demoCollector,
  githubPullsCollector,
  httpJsonCollector,
  jiraIssuesCollector,
  serviceNowIncidentsCollector,
  sqlCollector,
  zendeskTalkCallsCollector,
]);
