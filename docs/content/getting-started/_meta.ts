export default {
  install: "Install",
  tour: "A five-minute tour",
};
