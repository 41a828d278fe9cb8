#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dns.hpp"
#include "nat.hpp"
#include "veth.hpp"

namespace modrt::net {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Dns, ResolvConfFromOptions) {
  DnsOptions dns{
      .nameservers = {"1.1.1.1", "9.9.9.9"}, .search = {"a.org", "b.org"}, .options = {"ndots:2"}};
  std::string text = resolv_conf(dns);
  EXPECT_THAT(text, HasSubstr("nameserver 1.1.1.1\nnameserver 9.9.9.9\n"));
  EXPECT_THAT(text, HasSubstr("search a.org b.org\n"));
  EXPECT_THAT(text, HasSubstr("options ndots:2\n"));
}

TEST(Dns, HostResolvConfLosesLoopbackNameservers) {
  EXPECT_EQ(filtered_host_resolv_conf("nameserver 127.0.0.53\noptions edns0\n"), "");
  std::string text = filtered_host_resolv_conf("nameserver 127.0.0.53\nnameserver 10.0.0.2\n");
  EXPECT_THAT(text, HasSubstr("nameserver 10.0.0.2"));
  EXPECT_THAT(text, Not(HasSubstr("127.0.0.53")));
}

TEST(Dns, HostsNamesTheContainer) {
  std::string text = hosts_file("10.88.0.2", "web", "web");
  EXPECT_THAT(text, HasSubstr("127.0.0.1\tlocalhost\n"));
  EXPECT_THAT(text, HasSubstr("10.88.0.2\tweb\n"));
  EXPECT_THAT(hosts_file("", "h", "n"), HasSubstr("127.0.1.1\th n\n"));
}

TEST(Nat, ElementsAddAndDeleteByKey) {
  PortMapping p{.proto = "tcp", .host_port = 8080, .container_port = 80};
  std::string port = port_element(p, *Ipv4::parse("10.88.0.2"));
  EXPECT_EQ(port, "ports4 tcp . 8080 : 10.88.0.2 . 80");
  EXPECT_EQ(add_elements({port}),
            "add element inet modrt ports4 { tcp . 8080 : 10.88.0.2 . 80 }\n");
  EXPECT_EQ(delete_elements({port, nonat_element(*Ipv4::parse("10.88.0.2"))}),
            "delete element inet modrt ports4 { tcp . 8080 }\n"
            "delete element inet modrt nonat4 { 10.88.0.2 }\n");
  EXPECT_EQ(add_elements({masq_element(*Cidr4::parse("10.88.0.0/16"))}),
            "add element inet modrt masq4 { 10.88.0.0/16 }\n");
  EXPECT_THAT(table_commands(), HasSubstr("create table inet modrt\n"));
}

TEST(Veth, HostNamesFitAnInterfaceNameAndDiffer) {
  std::string a = host_veth_name("a-very-long-container-name");
  EXPECT_LE(a.size(), 15u);
  EXPECT_EQ(a.rfind("mra-very-", 0), 0u);
  std::string b = host_veth_name("a-very-long-container-name");
  std::string c = host_veth_name("a-very-long-container-name");
  EXPECT_TRUE(a != b || b != c);  // random suffix: three equal draws would be 1 in 2^32
  EXPECT_EQ(host_veth_name("x.y").find('.'), std::string::npos);
}

}  // namespace
}  // namespace modrt::net
