export default {
  index: "Introduction",
  "getting-started": "Getting started",
  concepts: "Concepts",
  guides: "Guides",
  reference: "Reference",
};
