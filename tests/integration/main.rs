//! One integration binary: real sockets, a real hub on 127.0.0.1:0, fake clients.

mod support;

mod access;
mod admin;
mod chat;
mod controls;
mod eligibility;
mod frames;
mod lifecycle;
mod nodes;
mod routing;
mod schemas;
mod splice;
mod store;
