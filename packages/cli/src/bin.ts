#!/usr/bin/env node
console.log("talos-ext");
