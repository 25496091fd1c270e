#pragma once

#include <memory>

#include "synod/api/etcd_api.h"

namespace synod::api {

// etcd's five services over one EtcdApi (see etcd_api.h for threads).
std::unique_ptr<grpc::Service> kv_service(EtcdApi& api);
std::unique_ptr<grpc::Service> watch_service(EtcdApi& api);
std::unique_ptr<grpc::Service> lease_service(EtcdApi& api);
std::unique_ptr<grpc::Service> cluster_service(EtcdApi& api);
std::unique_ptr<grpc::Service> maintenance_service(EtcdApi& api);

}  // namespace synod::api
